package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A Java heap that runs out ({@code OutOfMemoryError: Java heap space}) in the middle of a heap
 * operation leaves the heap consistent: the operation either completes or throws an
 * {@link OutOfMemoryError}, and once the memory is back, the heap is as the program's calls left
 * it. malloc4j keeps its metadata in Java objects (pages, lists, the purger's tasks, the segments it
 * hands out), so any of its operations may meet a full Java heap halfway; one that is not undone
 * then leaves a half-built thread heap (a later {@code trim()} throws), a block freed that the
 * caller still holds or one taken that nobody holds (the live count off, a later double free), or,
 * met by the JVM's first malloc, a class that never initializes, so that no heap of the process
 * can malloc again.
 *
 * <p>Each test runs {@link JavaHeapExhaustionProgram} in JVMs of their own with a 32 MiB Java heap:
 * it fills the heap with ballast but for a small headroom, performs heap operations, catches what
 * they throw, drops the ballast, and then checks: that every operation completed or threw an
 * {@code OutOfMemoryError} (an {@link AssertionError}, {@link NoClassDefFoundError},
 * {@link BootstrapMethodError}, {@link NullPointerException} is a violation); that every block the
 * program holds is live with the contents written before (a realloc that threw keeps the old
 * block); that {@code stats().liveBlocks()} is exactly the number of blocks it holds; that each of
 * them frees once, after which no block is live; that {@code trim()}, {@code check()} and
 * {@code close()} work; and that a fresh heap and a new thread can malloc. Many attempts, each on a
 * fresh heap with a headroom drawn from a seeded {@link java.util.Random}, and each operation given
 * a few more bytes than the last left, meet the end of the Java heap at many points of the
 * operations. The program prints a line starting with {@code VIOLATION} for each failed check.
 */
class JavaHeapExhaustionTest {
    private static final List<String> OPTIONS = FullJavaHeap.JVM_OPTIONS;
    /** A child stops starting attempts after this many seconds, well within {@link ChildJvm}'s limit. */
    private static final String SECONDS = "35";
    private static final Pattern RESULT = Pattern.compile(
            "RESULT \\w+: (\\d+) attempts, (\\d+) met an OutOfMemoryError");

    /**
     * The process's first malloc under a full Java heap (its classes initialize then, the purger
     * links its lambdas), and four more: a JVM for each headroom, as only a JVM's first malloc
     * initializes them. Also on a heap of {@link CheckMode#FULL}, whose first malloc initializes
     * more.
     */
    @Test
    void theJvmsFirstMallocMeetingAFullJavaHeapLeavesEveryHeapWorking() throws Exception {
        List<String[]> runs = new ArrayList<>();
        for (int headroom : new int[] {8 << 10, 24 << 10, 36 << 10, 48 << 10, 64 << 10, 80 << 10, 100 << 10}) {
            runs.add(new String[] {"first", Integer.toString(headroom), "FAST"});
        }
        for (int headroom : new int[] {24 << 10, 48 << 10, 80 << 10}) {
            runs.add(new String[] {"first", Integer.toString(headroom), "FULL"});
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<ChildJvm.Result>> results = new ArrayList<>();
            for (String[] args : runs) {
                results.add(pool.submit(() -> ChildJvm.run(OPTIONS, JavaHeapExhaustionProgram.class, args)));
            }
            StringBuilder all = new StringBuilder();
            int withOome = 0;
            boolean clean = true;
            for (int i = 0; i < runs.size(); i++) {
                ChildJvm.Result result = results.get(i).get();
                all.append("--- headroom ").append(runs.get(i)[1]).append(" B, ").append(runs.get(i)[2])
                        .append(": exit ").append(result.exitCode()).append('\n').append(result.output());
                clean &= result.exitCode() == 0 && !result.output().contains("VIOLATION");
                withOome += oomes(result);
            }
            assertTrue(clean, all.toString());
            assertTrue(withOome > 0, "no first malloc met an OutOfMemoryError:\n" + all);
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The first malloc of every size class (and of a large and a huge block) on a fresh heap, each
     * short of the Java heap at another point: a thread heap whose lists for a class were half
     * made must not fail the {@code trim()} after.
     */
    @Test
    void firstUseOfEverySizeClassUnderPressureLeavesTheHeapConsistent() throws Exception {
        check(run("classes", "14", "16384", "true"));
    }

    /**
     * {@code reallocAddress} and segment {@code realloc} of blocks that grow across the classes into
     * large blocks and a huge one, then shrink to a small block (freeing the large one) and grow
     * again, on heaps of {@link CheckMode#FAST} (two attempts in three) and {@link CheckMode#FULL}:
     * one that throws must leave the old block live and unchanged, nothing leaked. (A {@code FULL}
     * realloc whose copy found no room kept its new block, counted live and no one's.)
     */
    @Test
    void reallocThatThrowsKeepsTheOldBlockAndLeaksNothing() throws Exception {
        check(run("realloc", "16", "512", "true"));
    }

    /**
     * Segment {@code malloc} and {@code calloc} of sizes from 0 to a huge block, on heaps of
     * {@link CheckMode#FAST} (two attempts in three) and {@link CheckMode#FULL}: a call that throws
     * after taking its block, for the record or the segment it would return, must not leak the
     * block. (A {@code FULL} heap kept every such block, 38 MB in each attempt.)
     */
    @Test
    void segmentMallocAndCallocUnderPressureLeakNothingInFastAndFullMode() throws Exception {
        check(run("segments", "24", "4096", "true"));
    }

    /**
     * Three platform threads free the main thread's blocks (a huge one among them), then make
     * their first mallocs on the heap, all under pressure: the live count must then be exact, and
     * no lock may stay held (the program ends itself with a violation if it hangs).
     */
    @Test
    void freesFromOtherThreadsUnderPressureKeepTheCountsExact() throws Exception {
        check(run("remote", "14", "8192", "false"));
    }

    private static ChildJvm.Result run(String scenario, String attempts, String maxHeadroom, String spacers)
            throws Exception {
        return ChildJvm.run(OPTIONS, JavaHeapExhaustionProgram.class, scenario, attempts, "20250101", maxHeadroom,
                SECONDS, spacers);
    }

    private static void check(ChildJvm.Result result) {
        assertEquals(0, result.exitCode(), result.output());
        assertFalse(result.output().contains("VIOLATION"), result.output());
        assertTrue(oomes(result) > 0, "no attempt met an OutOfMemoryError:\n" + result.output());
    }

    /** @return how many attempts met an OutOfMemoryError, from the program's last line */
    private static int oomes(ChildJvm.Result result) {
        Matcher matcher = RESULT.matcher(result.output());
        assertTrue(matcher.find(), result.output());
        return Integer.parseInt(matcher.group(2));
    }
}
