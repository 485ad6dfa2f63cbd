package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;

/**
 * A page whose bump pointer reaches memory not yet committed gives way to a page of its class
 * with free blocks: the heap does not grow while it holds freed blocks of the size asked for.
 */
class FreeBlocksBeforeCommitTest {
    private static final int BLOCK = 64;

    @Test
    void aMallocTakesAnotherPagesFreeBlocksBeforeCommittingMore() throws Exception {
        takesFreedBlocksBeforeCommitting(false);
    }

    @Test
    void blocksAnotherThreadFreedCountAsMuch() throws Exception {
        takesFreedBlocksBeforeCommitting(true);
    }

    private static void takesFreedBlocksBeforeCommitting(boolean freedElsewhere) throws Exception {
        try (Heap heap = Heap.builder().name("free before commit").purgeDelay(Duration.ofHours(1)).build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long first = heap.mallocAddress(BLOCK);
            Page firstPage = RegionMap.slicePage(first, core);
            List<Long> inFirst = new ArrayList<>(List.of(first));
            long address;
            while (RegionMap.slicePage(address = heap.mallocAddress(BLOCK), core) == firstPage) {
                inFirst.add(address);
            }
            Page second = RegionMap.slicePage(address, core);
            assertEquals(firstPage.capacity, inFirst.size(), "the first page was not filled before the second");

            Set<Long> freed = new HashSet<>();
            for (int i = 0; i < inFirst.size(); i += 2) {
                freed.add(inFirst.get(i));
            }
            if (freedElsewhere) {
                // The first page is full: these frees leave it in the full list, their blocks in its remote bits.
                Thread.ofPlatform().start(() -> freed.forEach(heap::freeAddress)).join();
            } else {
                freed.forEach(heap::freeAddress);
            }
            long roomInSecond = (second.commitEnd - (long) second.bump * BLOCK) / BLOCK;
            assertTrue(roomInSecond < freed.size(), "the second page committed room for " + roomInSecond + " blocks");

            long committed = heap.stats().committedBytes();
            int reused = 0;
            for (int i = 0; i < freed.size(); i++) {
                if (freed.contains(heap.mallocAddress(BLOCK))) {
                    reused++;
                }
            }
            assertEquals(committed, heap.stats().committedBytes(),
                    "committed more while the first page held " + (freed.size() - reused) + " free blocks of the class");
            assertEquals(freed.size() - roomInSecond, reused, "blocks taken from the first page's free ones");
        }
    }
}
