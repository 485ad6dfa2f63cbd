package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
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
        // A block of 16 B for each of OPS / 2 ids, then their frees.
        Stream<String> header = Stream.of("0", String.valueOf(OPS / 2), String.valueOf(OPS), "1");
        Stream<String> requests = IntStream.range(0, OPS)
                .mapToObj(op -> op < OPS / 2 ? "a " + op + " 16" : "f " + (op - OPS / 2));
        trace = Files.write(dir.resolve("large.rep"), (Iterable<String>) Stream.concat(header, requests)::iterator);
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
        List<String> command = new ArrayList<>(List.of(java, "-Xmx24m", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), tool.getName()));
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
