package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A checked block's segment is watched for becoming unreachable while its block is live (a
 * probable leak). A segment whose block is being freed must never be reported so, however often the
 * collector runs: in a JVM with a 2 MiB young generation, collecting a few hundred times a second,
 * the program below frees sampled blocks through their segments for some seconds. Before
 * {@code Heap.free} kept the segment reachable until the block was marked freed, such runs printed
 * the warning 6 and 7 times in 10 s.
 */
class SegmentWatchTest {
    private static final String WARNING = "became unreachable";
    private static final int SECONDS = 8;

    @Test
    void freeingThroughASegmentWhileTheCollectorRunsReportsNoLeak() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process process = new ProcessBuilder(List.of(java, "-Xmn2m", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), FreeUnderCollection.class.getName(),
                Integer.toString(SECONDS)))
                .redirectErrorStream(true)
                .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(SECONDS + 60, TimeUnit.SECONDS), "the program did not finish");
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.contains("pairs="), output);
        assertTrue(!output.contains(WARNING), "a block being freed was reported as leaked:\n" + output);
    }

    /** Frees sampled blocks through their segments while another thread makes garbage. */
    static final class FreeUnderCollection {
        private static volatile boolean stop;
        private static volatile Object sink;

        public static void main(String[] args) throws IOException, InterruptedException {
            long nanos = TimeUnit.SECONDS.toNanos(Long.parseLong(args[0]));
            ByteArrayOutputStream errors = new ByteArrayOutputStream();
            PrintStream stderr = System.err;
            System.setErr(new PrintStream(errors, true, StandardCharsets.UTF_8));
            Thread garbage = new Thread(() -> {
                while (!stop) {
                    Object[] junk = new Object[64];
                    for (int i = 0; i < junk.length; i++) {
                        junk[i] = new byte[128];
                    }
                    sink = junk;
                }
            });
            garbage.setDaemon(true);
            garbage.start();
            long pairs = 0;
            try (Heap heap = Heap.builder().name("watched").checkMode(CheckMode.SAMPLED).quarantineBytes(0).build()) {
                long start = System.nanoTime();
                while (System.nanoTime() - start < nanos) {
                    for (int i = 0; i < 1000; i++) {
                        MemorySegment block = heap.malloc(64);
                        heap.free(block);
                    }
                    pairs += 1000;
                }
            }
            stop = true;
            garbage.join();
            System.setErr(stderr);
            System.out.println("pairs=" + pairs);
            System.out.print(errors.toString(StandardCharsets.UTF_8));
        }
    }
}
