package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Heap#footprintBytes()} is what {@link Heap#stats()} says the footprint is, committed plus
 * metadata bytes, in every check mode, as the heap grows, shrinks and closes.
 */
class FootprintBytesTest {

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void isTheCommittedPlusMetadataBytesOfTheStatsAtEveryStep(CheckMode mode) {
        // The purger changes the footprint on its own thread: with a long delay it waits until
        // the heap is idle, and the comparison below reads again if it moved meanwhile.
        Heap heap = Heap.builder().name("footprint " + mode).checkMode(mode).sampleInterval(8)
                .purgeDelay(Duration.ofHours(1)).build();
        SplittableRandom random = new SplittableRandom(5);
        List<Long> live = new ArrayList<>();
        try {
            for (int step = 0; step < 3_000; step++) {
                if (live.isEmpty() || random.nextInt(3) > 0) {
                    long size = random.nextInt(8) == 0 ? 1 + random.nextInt(3 << 20) : 1 + random.nextInt(4096);
                    live.add(heap.mallocAddress(size));
                } else {
                    heap.freeAddress(live.remove(random.nextInt(live.size())));
                }
                if (step % 100 == 0) {
                    assertAgrees(heap, "step " + step);
                }
            }
            assertTrue(heap.footprintBytes() > 0, "a heap with live blocks has a footprint");
            live.forEach(heap::freeAddress);
            heap.trim();
            assertAgrees(heap, "after every block was freed and the heap trimmed");
        } finally {
            heap.close();
        }
        assertAgrees(heap, "closed");
        assertEquals(0, heap.stats().committedBytes(), "a closed heap commits nothing");
    }

    private static void assertAgrees(Heap heap, String when) {
        for (int attempt = 0; attempt < 10; attempt++) {
            long before = heap.footprintBytes();
            HeapStats stats = heap.stats();
            if (heap.footprintBytes() == before) {
                assertEquals(stats.committedBytes() + stats.metadataBytes(), before, when + "\n" + stats.toText());
                return;
            }
        }
        fail(when + ": the footprint changed during each of 10 reads");
    }
}
