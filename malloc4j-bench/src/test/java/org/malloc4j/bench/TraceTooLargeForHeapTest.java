package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A valid trace too large for the JVM's heap to parse is reported in one line with what to do, as
 * {@code malloc4j replay} reports it, and not as an {@code OutOfMemoryError}'s stack trace. The tools run
 * in a child JVM with a small heap.
 */
class TraceTooLargeForHeapTest {
    private static final int OPS = 2_000_000;

    @TempDir
    static Path dir;
    private static Path trace;

    @BeforeAll
    static void writeTrace() throws IOException {
        trace = dir.resolve("large.rep");
        try (BufferedWriter out = Files.newBufferedWriter(trace, StandardCharsets.US_ASCII)) {
            out.write("0\n" + OPS / 2 + "\n" + OPS + "\n1\n");
            for (int id = 0; id < OPS / 2; id++) {
                out.write("a " + id + " 16\n");
            }
            for (int id = 0; id < OPS / 2; id++) {
                out.write("f " + id + "\n");
            }
        }
    }

    @Test
    void replayRoundsSaysSoAndExitsWith2() throws Exception {
        assertReported(ReplayRounds.class, 2, trace.toString(), "1");
    }

    @Test
    void traceCheckSaysSoAndExitsWith2() throws Exception {
        assertReported(TraceCheck.class, 2, trace.toString());
    }

    private static void assertReported(Class<?> tool, int status, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xmx24m", "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                tool.getName()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "the tool did not finish");
        assertFalse(output.contains("Exception in thread"), output);
        assertFalse(output.contains("OutOfMemoryError"), output);
        assertTrue(output.contains("large.rep: too large for this JVM's heap"), output);
        assertTrue(output.contains("JAVA_TOOL_OPTIONS=-Xmx"), output);
        assertEquals(1, output.lines().count(), output);
        assertEquals(status, process.exitValue(), output);
    }
}
