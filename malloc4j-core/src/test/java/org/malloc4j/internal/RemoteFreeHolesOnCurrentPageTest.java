package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import org.malloc4j.IdleThread;

/**
 * Blocks another thread frees into a waiting owner's current page, which the purger returns to the
 * OS before the owner collects them, count as freed once: the freeing thread counted them when it
 * freed them, so the owner that takes the holes over ({@link Page#collectRemote}) must not count
 * them again in what its mallocs and frees on its current page added ({@link Page#usableSinceCurrent}).
 * The live bytes the commit path's heuristics go by ({@link HeapCore#liveBytes}: the peak guard,
 * the scavenge on commit) stay the bytes really live.
 *
 * <p>The page is full to its last block, so that the purger leaves it current (it takes a waiting
 * owner's current page only for its own free blocks or its memory past the bump pointer, and then
 * the owner settles the page's count before it takes the holes over), and the owner's next malloc
 * collects on that very page while it is current.
 */
class RemoteFreeHolesOnCurrentPageTest {
    private static final int SIZE = 64;
    /** The OS pages whose blocks the other thread frees, from the start of the page. */
    private static final int FREED_OS_PAGES = 8;

    @Test
    void remoteFreesTheOwnerTakesOverAsHolesOfItsCurrentPageCountOnce() throws Exception {
        try (Heap heap = Heap.builder().name("holes on the current page").purgeDelay(Duration.ofMillis(20)).build();
                IdleThread owner = new IdleThread()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            int sizeClass = SizeClasses.classOf(SIZE);
            List<Long> blocks = new ArrayList<>();
            Page[] page = new Page[1];
            owner.run(() -> {
                blocks.add(heap.mallocAddress(SIZE));
                page[0] = RegionMap.slicePage(blocks.get(0), core);
                while (blocks.size() < page[0].capacity) {
                    blocks.add(heap.mallocAddress(SIZE));
                }
            });
            owner.awaitWaiting();
            Page current = page[0];
            ThreadHeap ownerHeap = WaitingOwner.heapOf(core, owner.thread());
            assertNotNull(ownerHeap, "the owner has no thread heap");
            assertSame(current, ownerHeap.current[sizeClass], "the owner's blocks are not on its current page");
            assertEquals(SIZE, current.blockSize);
            assertTrue(current.bump == current.capacity && current.freeCount == 0,
                    "the current page has room: bump " + current.bump + " of " + current.capacity);

            int freed = FREED_OS_PAGES * (int) (Os.OS_PAGE_SIZE / SIZE);
            for (int i = 0; i < freed; i++) {
                assertSame(current, RegionMap.slicePage(blocks.get(i), core),
                        "a freed block is not on the current page");
                heap.freeAddress(blocks.get(i));
            }
            long purged = FREED_OS_PAGES * Os.OS_PAGE_SIZE;
            for (int poll = 0; poll < 250 && heap.stats().purgedBytes() < purged; poll++) {
                Thread.sleep(20);
            }
            assertEquals(purged, heap.stats().purgedBytes(), "the purger did not return the remotely freed OS pages");
            assertNotNull(current.purgedHoles, "the holes are not waiting for the owner on its page");
            assertSame(current, ownerHeap.current[sizeClass], "the purger took the owner's current page");

            // The page has no room left but the holes: this malloc collects them on the current page.
            owner.run(() -> blocks.add(heap.mallocAddress(SIZE)));
            assertSame(current, ownerHeap.current[sizeClass], "the owner's page stopped being current");
            assertEquals(freed, current.holeCount + current.freeCount + 1, "the holes were not taken over");

            long live = current.capacity - freed + 1;
            HeapStats stats = heap.stats();
            assertAll(
                    () -> assertEquals(live, stats.liveBlocks(), "live blocks"),
                    () -> assertEquals(live * SIZE, stats.usableBytes(), "usable bytes in the block tables"),
                    () -> assertEquals(live * SIZE, core.liveBytes(),
                            "live bytes the owner counts: the remote frees taken over as holes count twice"));

            owner.run(() -> {
                for (int i = freed; i < blocks.size(); i++) {
                    heap.freeAddress(blocks.get(i));
                }
            });
            assertEquals(0, core.liveBytes(), "live bytes once every block is freed");
        }
    }
}
