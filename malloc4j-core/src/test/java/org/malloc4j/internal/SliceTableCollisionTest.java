package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.malloc4j.Heap;
import org.malloc4j.MemoryMisuseException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The free fast path finds a page through a hashed table of slice maps, where chunks 128 GiB apart
 * share a slot ({@link RegionMap#slicePage}). A region whose slot another holds must be found
 * through the full map instead, and never through its neighbour's slice map. The colliding region
 * here is a reservation in name only: its address range is registered in the map, never mapped or
 * touched.
 */
class SliceTableCollisionTest {
    /** The distance at which two regions share a slot of the slice table: 4,096 chunks of 32 MiB. */
    private static final long COLLISION = 4096L << Region.SHIFT;
    /** The address bits the region map covers: 128 TiB, the user address space of x86-64 and AArch64 Linux. */
    private static final int ADDRESS_BITS = 47;

    private long registeredBase;
    /** Where the neighbour lies from the heap's region: 128 GiB above it, or below where above is past the address space. */
    private long neighbourOffset;

    @AfterEach
    void unregister() {
        if (registeredBase != 0) {
            RegionMap.set(registeredBase, Region.SIZE, null);
        }
    }

    @Test
    void aRegionWhoseSlotIsTakenIsNotFoundThroughItsNeighboursSliceMap() throws Exception {
        try (Heap heap = Heap.builder().name("slice table collision").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long block = heap.mallocAddress(64);
            Page page = RegionMap.slicePage(block, core);
            assertNotNull(page, "the heap's own region holds the slot of its chunk");

            Region neighbour = registerNeighbour(core, block);
            // The block's offset in the neighbour is a slice the neighbour has a page over.
            long twin = block + neighbourOffset;
            assertSame(neighbour, RegionMap.lookup(twin));
            assertNull(RegionMap.slicePage(twin, core), "the slot's map is the first region's, not the neighbour's");
            assertSame(page, RegionMap.slicePage(block, core), "the neighbour took the slot");

            // Unregistering the neighbour leaves the slot to its holder.
            RegionMap.set(registeredBase, Region.SIZE, null);
            registeredBase = 0;
            assertSame(page, RegionMap.slicePage(block, core));
            heap.freeAddress(block);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void theFullMapStillJudgesAFreeInACollidingRegion() throws Exception {
        try (Heap heap = Heap.builder().name("slice table collision free").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long block = heap.mallocAddress(64);
            registerNeighbour(core, block);
            // An address of the neighbour that the heap never handed out: reported, not freed
            // into the first region's page at the same offset.
            MemoryMisuseException e = assertThrows(MemoryMisuseException.class, () -> heap.freeAddress(block + neighbourOffset));
            assertNotNull(e.getMessage());
            assertEquals(1, heap.stats().liveBlocks(), "the free touched the first region's block");
            heap.freeAddress(block);
            assertEquals(0, heap.stats().liveBlocks());
        }
    }

    @Test
    void aSlotIsFreedWhenItsHolderGoes() throws Exception {
        try (Heap heap = Heap.builder().name("slice table holder").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            // Far below where the OS maps (top down from 128 TiB) and above the Java heap.
            long holderBase = 1L << 45;
            Region holder = Region.sliced(core, holderBase);
            Page holderPage = holder.takeSlices(1, 1);
            RegionMap.set(holderBase, Region.SIZE, holder);
            registeredBase = holderBase;
            assertSame(holderPage, RegionMap.slicePage(holderBase, core));

            RegionMap.set(holderBase, Region.SIZE, null);
            registeredBase = 0;
            assertNull(RegionMap.slicePage(holderBase, core), "the slot kept the unmapped region's map");
            Region successor = Region.sliced(core, holderBase + COLLISION);
            Page successorPage = successor.takeSlices(1, 1);
            RegionMap.set(successor.base, Region.SIZE, successor);
            registeredBase = successor.base;
            assertSame(successorPage, RegionMap.slicePage(successor.base, core), "the freed slot was not taken");
            assertNull(RegionMap.slicePage(holderBase, core));
        }
    }

    /**
     * Registers a region of slices 128 GiB from the chunk of {@code block} (above it, or below it
     * when the OS mapped the heap's region within 128 GiB of the top of the address space), with a
     * page over every slice up to the block's.
     */
    private Region registerNeighbour(HeapCore core, long block) {
        long chunkBase = block & -Region.SIZE;
        neighbourOffset = (chunkBase + COLLISION + Region.SIZE) >>> ADDRESS_BITS == 0 ? COLLISION : -COLLISION;
        long base = chunkBase + neighbourOffset;
        Region neighbour = Region.sliced(core, base);
        int slices = (int) ((block - (block & -Region.SIZE)) >>> Region.SLICE_SHIFT) + 1;
        assertNotNull(neighbour.takeSlices(slices, 1));
        RegionMap.set(base, Region.SIZE, neighbour);
        registeredBase = base;
        return neighbour;
    }
}
