package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.IdleThread;

/**
 * The purger returns what a waiting owner's page holds committed past its bump pointer (here an
 * earlier layout's memory: a page of 20 KiB blocks laid out again for 48 KiB ones keeps what it had
 * committed), but never while the owner is committing the block at the bump pointer: a malloc
 * parked on the span lock in that commit may go on between two pages of the purger's scan, and
 * the memory it commits is a block it hands out.
 */
class PastBumpDecommitTest {
    private static final int SMALL = 20_000;
    private static final int LARGE = 49_000;

    @Test
    void memoryPastTheBumpPointerGoesBackButNotWhileTheOwnerCommitsThere() throws Exception {
        try (Heap heap = Heap.builder().name("past bump").purgeDelay(Duration.ofHours(1)).build();
                IdleThread owner = new IdleThread()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            List<MemorySegment> kept = new ArrayList<>();
            owner.run(() -> {
                List<MemorySegment> small = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    small.add(heap.malloc(SMALL));
                }
                small.forEach(block -> block.fill((byte) 1));
                small.forEach(heap::free);
                for (int i = 0; i < 3; i++) {
                    MemorySegment block = heap.malloc(LARGE);
                    block.fill((byte) 2);
                    kept.add(block);
                }
            });
            owner.awaitWaiting();
            Page page = RegionMap.slicePage(kept.get(0).address(), core);
            long bumpEnd = SpanAllocator.roundUp((long) page.bump * page.blockSize, Os.OS_PAGE_SIZE);
            long committedEnd = page.commitEnd;
            assertTrue(committedEnd - bumpEnd >= page.blockSize, "no earlier layout's memory past the bump pointer:"
                    + " commitEnd " + committedEnd + ", bump pointer at " + bumpEnd);

            page.committing = true;
            heap.trim();
            assertEquals(committedEnd, page.commitEnd, "memory past the bump pointer went back while the owner was"
                    + " committing there");

            page.committing = false;
            // A free into the page, so that the purger looks at it again.
            owner.run(() -> heap.free(kept.remove(2)));
            owner.awaitWaiting();
            long before = heap.stats().committedBytes();
            heap.trim();
            assertEquals(bumpEnd, page.commitEnd, "memory past the bump pointer did not go back");
            assertTrue(heap.stats().committedBytes() <= before - (committedEnd - bumpEnd), heap.stats().toText());
            assertEquals(List.of(), SpanAccounting.violations(heap));
            for (MemorySegment block : kept) {
                for (long i = 0; i < block.byteSize(); i++) {
                    assertEquals((byte) 2, block.get(ValueLayout.JAVA_BYTE, i), "a live block lost its bytes");
                }
            }
            owner.run(() -> kept.forEach(heap::free));
        }
    }
}
