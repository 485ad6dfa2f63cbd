package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A worker JVM that dies says how, and never takes its parent down with it. */
class WorkerLauncherTest {
    /** An option that clashes with the worker's -XX:+UseSerialGC: the JVM stops before it runs any code. */
    static final Map<String, String> OTHER_COLLECTOR = Map.of("JAVA_TOOL_OPTIONS", "-XX:+UseG1GC");

    @AfterEach
    void restoreTheEnvironment() {
        WorkerLauncher.testEnvironment = Map.of();
    }

    @Test
    void aWorkerThatDiesWhileItsInputIsStillBeingWrittenReportsItsExitCodeAndLastOutput() {
        WorkerLauncher.testEnvironment = Map.of("glibc", OTHER_COLLECTOR);
        // far more than a pipe holds (64 KiB), so the worker dies while the parent still writes to it
        TraceSource trace = TraceSource.bundled("malloclab/" + "x".repeat(200) + ".rep.gz");
        List<TraceSource> traces = Collections.nCopies(2_000, trace);
        StringWriter err = new StringWriter();

        WorkerLauncher.Run run = new WorkerLauncher(1, new Progress(new PrintWriter(err), false))
                .run("glibc", traces, WorkerLauncher.MIN_HEAP_MIB, false, p -> { });

        assertNull(run.status());
        assertTrue(run.results().isEmpty());
        assertEquals(1, run.exitCode());
        assertTrue(run.lastOutput().contains("Multiple garbage collectors selected"), run.lastOutput().toString());
        String reason = run.stopped("before it opened the allocator");
        assertTrue(reason.startsWith("the worker JVM exited with code 1 before it opened the allocator; "), reason);
        assertTrue(reason.endsWith("Multiple garbage collectors selected"), reason);
        // what the worker printed still reaches the user as it comes
        assertTrue(err.toString().contains("Multiple garbage collectors selected"), err.toString());
    }

    @Test
    void aWorkerThatDiesWithAJavaStackTraceIsReportedByItsExceptionNotItsFrames() {
        // the JVM cannot make its class loader, and prints an Error and its cause with their frames
        WorkerLauncher.testEnvironment = Map.of("glibc",
                Map.of("JAVA_TOOL_OPTIONS", "-Djava.system.class.loader=org.malloc4j.NoSuchLoader"));

        WorkerLauncher.Run run = new WorkerLauncher(1, new Progress(new PrintWriter(new StringWriter()), false))
                .run("glibc", TraceFinder.bundled(), WorkerLauncher.MIN_HEAP_MIB, false, p -> { });

        String reason = run.stopped("before it opened the allocator");
        assertTrue(reason.contains("java.lang.Error: org.malloc4j.NoSuchLoader"), reason);
        assertTrue(reason.contains("Caused by: java.lang.ClassNotFoundException: org.malloc4j.NoSuchLoader"), reason);
        assertFalse(run.lastOutput().stream().anyMatch(line -> line.startsWith("at ")), reason);
    }

    @Test
    void whatAWorkerPrintsStartsOnALineOfItsOwnWithTheProgressCounterErasedAndShownAgainAfter() {
        // the JVM prints "Picked up JAVA_TOOL_OPTIONS: ..." on its standard error as it starts
        WorkerLauncher.testEnvironment = Map.of("glibc", Map.of("JAVA_TOOL_OPTIONS", "-Dmalloc4j.unused=1"));
        StringWriter err = new StringWriter();
        Progress progress = new Progress(new PrintWriter(err), true);
        progress.show("1/1 glibc", "starting a worker");

        new WorkerLauncher(1, progress).run("glibc", List.of(TraceFinder.bundled().getFirst()),
                WorkerLauncher.MIN_HEAP_MIB, false, p -> progress.show("1/1 glibc", "trace " + p.trace()));

        String text = err.toString();
        int picked = text.indexOf("Picked up JAVA_TOOL_OPTIONS: -Dmalloc4j.unused=1\n");
        assertTrue(picked > 0, text);
        String before = text.substring(text.lastIndexOf('\n', picked) + 1, picked);
        assertTrue(before.matches("\r\\[1/1 glibc\\] starting a worker\r +\r"), before);
        assertTrue(text.startsWith("\r[1/1 glibc] starting a worker",
                picked + "Picked up JAVA_TOOL_OPTIONS: -Dmalloc4j.unused=1\n".length()), text);
    }

    @Test
    void aWorkerStopsWhenItsParentIsKilled(@TempDir Path dir) throws Exception {
        Path trace = Files.writeString(dir.resolve("t.rep"), "0\n1\n2\n1\na 0 16\nf 0\n");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // timed passes enough to keep the worker busy for an hour
        Process parent = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "replay", "--allocator", "glibc", "--repeat", "2000000000", trace.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        ProcessHandle worker = null;
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (worker == null && System.nanoTime() < deadline) {
                worker = parent.children().findFirst().orElse(null);
                Thread.sleep(50);
            }
            assertNotNull(worker, "the replay started no worker");
            parent.destroyForcibly().waitFor();

            CompletableFuture<ProcessHandle> workerExit = worker.onExit();
            assertDoesNotThrow(() -> workerExit.get(30, TimeUnit.SECONDS), "the worker outlived its parent");
        } finally {
            parent.destroyForcibly();
            if (worker != null) {
                worker.destroyForcibly();
            }
        }
    }
}
