package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The hidden {@code worker} command refuses what its parent would never send, in words and before it
 * writes anything on standard output, where its parent takes the first line for the allocator's status.
 */
class WorkerCommandTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--allocator=dlmalloc | malloc4j: unknown allocator 'dlmalloc'; known: malloc4j, glibc, jemalloc, mimalloc, "
                + "tcmalloc, arena",
        "--repeat=-1          | malloc4j: --repeat must not be negative, got -1",
        "--downcalls=fast     | malloc4j: --downcalls must be critical or standard, got 'fast'"})
    void aWrongOptionIsAUsageErrorAndNothingIsReported(String option, String message) {
        String[] args = option.startsWith("--allocator") ? new String[] {"worker", option}
                : new String[] {"worker", "--allocator=glibc", option};
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();

        int exitCode = runWithInput("", out, err, args);

        assertEquals(Main.USAGE, exitCode, err.toString());
        assertEquals(message, err.toString().lines().findFirst().orElseThrow());
        assertEquals("", out.toString());
    }

    @Test
    void aTraceLineWithoutItsFieldsIsRefusedInWords() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();

        int exitCode = runWithInput("{\"type\":\"trace\"}\n", out, err, "worker", "--allocator=glibc");

        assertEquals(1, exitCode, err.toString());
        assertEquals("malloc4j: not a trace line (a JSON object of type \"trace\" with name, set, display and spec): "
                + "{\"type\":\"trace\"}", err.toString().strip());
        assertEquals("", out.toString());
    }

    /**
     * The warm-up compiles the replay loops; it does not take the run's --repeat timed passes, which
     * would make a large --repeat cost that many passes over the warm-up trace before any trace.
     */
    @Test
    void theWarmUpDoesNotTakeTheRepeatCount() {
        assertEquals(WorkerCommand.WARMUP_REPEAT, WorkerCommand.warmupRepeat(20_000));
        assertEquals(1, WorkerCommand.warmupRepeat(1));
        assertEquals(0, WorkerCommand.warmupRepeat(0));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        assertEquals(0, runWithInput("", out, err, "worker", "--allocator=glibc", "--repeat=20000"), err.toString());
    }

    /**
     * The parent's --downcalls reaches the worker as its own option, which picks the linkage its
     * adapters link with.
     */
    @ParameterizedTest
    @CsvSource({"standard, STANDARD", "critical, CRITICAL"})
    void theWorkerLinksAsItsDowncallsOptionSays(String option, DowncallLinkage expected) {
        List<String> command = new WorkerLauncher(1, DowncallLinkage.of(option), Progress.onTerminal(
                new PrintWriter(new StringWriter()))).command("glibc", 64, false);
        assertTrue(command.contains("--downcalls=" + option), command.toString());
        // Without --parent: a worker that watches for its parent's end stops the whole process then.
        String[] args = command.subList(command.indexOf("worker"), command.size()).stream()
                .filter(arg -> !arg.startsWith("--parent")).toArray(String[]::new);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        DowncallLinkage.select(expected == DowncallLinkage.STANDARD ? DowncallLinkage.CRITICAL
                : DowncallLinkage.STANDARD);
        try {
            assertEquals(0, runWithInput("", out, err, args), err.toString());
            assertEquals(expected, DowncallLinkage.selected());
        } finally {
            DowncallLinkage.select(DowncallLinkage.CRITICAL);
        }
    }

    /** Runs the command with {@code input} as standard input, which the worker reads its traces from. */
    private static int runWithInput(String input, StringWriter out, StringWriter err, String... args) {
        InputStream stdin = System.in;
        try {
            System.setIn(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
            return Main.run(new PrintWriter(out), new PrintWriter(err), args);
        } finally {
            System.setIn(stdin);
        }
    }

    /** Run by hand with a --parent that is not its parent, the worker says why it stops at once. */
    @Test
    void aWorkerWhoseParentIsNotRunningSaysSoAndStops() throws Exception {
        long notTheParent = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(1L);
        Process worker = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "worker", "--allocator=glibc", "--parent=" + notTheParent)
                .redirectInput(ProcessBuilder.Redirect.PIPE).start();
        assertTrue(worker.waitFor(60, TimeUnit.SECONDS), "the worker did not stop");
        String err = new String(worker.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(WorkerCommand.ORPHANED, worker.exitValue(), err);
        assertEquals("malloc4j worker: its parent, process " + notTheParent + ", is not running; stopping", err.strip());
        assertEquals("", new String(worker.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
