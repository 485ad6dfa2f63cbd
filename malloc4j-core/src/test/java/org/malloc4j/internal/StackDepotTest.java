package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.malloc4j.LeakReport;
import org.junit.jupiter.api.Test;

/**
 * Checked mode keeps each distinct stack once: records of blocks allocated at one place share it,
 * a stack no record holds any more is let go, and a leak report groups stacks by their frames
 * whether they are shared or not.
 */
class StackDepotTest {
    private static final StackTraceElement ALLOC = new StackTraceElement("App", "alloc", "App.java", 7);
    private static final StackTraceElement MAIN = new StackTraceElement("App", "main", "App.java", 3);

    @Test
    void capturesAtOneLineShareOneStack() {
        StackTraceElement[][] captured = new StackTraceElement[3][];
        for (int i = 0; i < captured.length; i++) {
            captured[i] = StackDepot.capture();
        }
        StackTraceElement[] elsewhere = StackDepot.capture();

        assertSame(captured[0], captured[1]);
        assertSame(captured[0], captured[2]);
        assertNotSame(captured[0], elsewhere);
        assertEquals("capturesAtOneLineShareOneStack", captured[0][0].getMethodName());
        assertEquals(captured[0][0].getLineNumber() + 2, elsewhere[0].getLineNumber());
        assertArrayEquals(tail(captured[0]), tail(elsewhere));
    }

    @Test
    void equalStacksAreKeptOnce() {
        StackDepot depot = new StackDepot();
        StackTraceElement[] first = {ALLOC, MAIN};
        StackTraceElement[] second = {MAIN};

        assertSame(first, depot.intern(first));
        assertSame(first, depot.intern(new StackTraceElement[] {ALLOC, MAIN}));
        assertSame(second, depot.intern(second));
        assertSame(second, depot.intern(new StackTraceElement[] {MAIN}));
        assertEquals(2, depot.size());
    }

    @Test
    void aStackNoRecordHoldsAnyMoreIsLetGo() throws InterruptedException {
        StackDepot depot = new StackDepot();
        StackTraceElement[] held = depot.intern(new StackTraceElement[] {MAIN});
        internHeldUntilCounted(depot, 1_000);

        // Each intern forgets what the collector cleared since the last one.
        for (int round = 0; round < 100 && depot.size() > 1; round++) {
            System.gc();
            Thread.sleep(10);
            depot.intern(held);
        }

        assertEquals(1, depot.size());
        assertSame(held, depot.intern(new StackTraceElement[] {MAIN}));
        StackTraceElement[] again = {new StackTraceElement("App", "loop", "App.java", 7)};
        assertSame(again, depot.intern(again));
    }

    /**
     * Interns {@code count} new stacks, held until the depot has counted them: a collection during
     * the loop would otherwise let some go already. Unreachable once this returns.
     */
    private static void internHeldUntilCounted(StackDepot depot, int count) {
        List<StackTraceElement[]> held = new ArrayList<>();
        int before = depot.size();
        for (int i = 0; i < count; i++) {
            held.add(depot.intern(new StackTraceElement[] {new StackTraceElement("App", "loop", "App.java", i)}));
        }
        assertEquals(before + count, depot.size());
        Reference.reachabilityFence(held);
    }

    @Test
    void threadsInterningOneStackAllGetTheSameArray() throws Exception {
        int threads = 8;
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            // Many rounds, each a new depot and a new stack: the threads race to add it.
            for (int round = 0; round < 300; round++) {
                StackDepot depot = new StackDepot();
                StackTraceElement frame = new StackTraceElement("App", "alloc" + round, "App.java", round);
                CountDownLatch start = new CountDownLatch(1);
                List<Future<StackTraceElement[]>> results = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    results.add(pool.submit(() -> {
                        start.await();
                        return depot.intern(new StackTraceElement[] {frame, MAIN});
                    }));
                }
                start.countDown();
                StackTraceElement[] kept = results.getFirst().get();
                for (Future<StackTraceElement[]> result : results) {
                    assertSame(kept, result.get(), "round " + round);
                }
                assertEquals(1, depot.size());
            }
        }
    }

    @Test
    void aLeakReportGroupsUnsharedStacksWithTheSameFramesAsOneSite() {
        BlockHolder pool = new BlockHolder("FixedSizePool 'p'", (address, tally) -> {
            tally.add(new StackTraceElement[] {MAIN}, 16);
            tally.add(new StackTraceElement[] {MAIN}, 16);
            return true;
        });
        List<BlockRecord> live = List.of(
                new BlockRecord(0x1000, 0x1000, 64, 64, new StackTraceElement[] {ALLOC, MAIN}),
                new BlockRecord(0x2000, 0x2000, 64, 64, new StackTraceElement[] {ALLOC, MAIN}),
                held(0x3000, new BlockHolder("FixedSizePool 'p'", pool.handedOut())), held(0x4000, pool),
                new BlockRecord(0x5000, 0x5000, 32, 32, new StackTraceElement[] {MAIN}));

        LeakReport report = SanitizerReports.leaks(live, "h", false);

        assertEquals(3, report.sites().size(), report.text());
        LeakReport.Site pages = report.sites().get(0);
        assertEquals("FixedSizePool 'p'", pages.heldBy(), report.text());
        assertEquals(List.of(ALLOC, MAIN), pages.stack(), report.text());
        assertEquals(2, pages.blocks(), report.text());
        assertEquals(2, pages.holders(), report.text());
        assertEquals(1, pages.handedOut().size(), report.text());
        assertEquals(4, pages.handedOut().getFirst().blocks(), report.text());
        assertEquals(64, pages.handedOut().getFirst().bytes(), report.text());
        LeakReport.Site plain = report.sites().get(1);
        assertEquals("", plain.heldBy(), report.text());
        assertEquals(List.of(ALLOC, MAIN), plain.stack(), report.text());
        assertEquals(2, plain.blocks(), report.text());
        assertEquals(128, plain.bytes(), report.text());
        assertEquals(List.of(MAIN), report.sites().get(2).stack(), report.text());
        assertEquals(5, report.blocks(), report.text());
    }

    private static BlockRecord held(long address, BlockHolder holder) {
        BlockRecord block = new BlockRecord(address, address, 256, 256, new StackTraceElement[] {ALLOC, MAIN});
        block.owner = holder;
        return block;
    }

    private static StackTraceElement[] tail(StackTraceElement[] stack) {
        return java.util.Arrays.copyOfRange(stack, 1, stack.length);
    }
}
