package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A valid trace too large for the JVM's heap to parse is reported as such, with what to do, and the
 * command ends with the exit code of a run whose traces could not be read: not an
 * {@code OutOfMemoryError}'s stack trace. The command runs in a child JVM with a small heap.
 */
class TraceTooLargeTest {
    private static final int OPS = 2_000_000;

    @Test
    void aTraceTooLargeForTheHeapIsReportedWithWhatToDo(@TempDir Path dir) throws Exception {
        Path trace = dir.resolve("large.rep");
        try (BufferedWriter out = Files.newBufferedWriter(trace, StandardCharsets.US_ASCII)) {
            out.write("0\n" + OPS / 2 + "\n" + OPS + "\n1\n");
            for (int id = 0; id < OPS / 2; id++) {
                out.write("a " + id + " 16\n");
            }
            for (int id = 0; id < OPS / 2; id++) {
                out.write("f " + id + "\n");
            }
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process process = new ProcessBuilder(List.of(java, "-Xmx24m", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "replay", "-a", "malloc4j", "-r", "1", trace.toString()))
                .redirectErrorStream(true)
                .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "the command did not finish");
        assertFalse(output.contains("Exception in thread"), output);
        assertTrue(output.contains("large.rep: too large for this JVM's heap"), output);
        assertTrue(output.contains("JAVA_TOOL_OPTIONS=-Xmx"), output);
        assertEquals(1, process.exitValue(), output);
    }
}
