package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;

/**
 * A heap's own tables (the current pages by thread slot and size class, 16 KiB of references, the
 * heap cache, the stripes' hints) are part of the metadata its statistics report, from the start:
 * a heap that never allocated reports them, and a block's malloc and free leave them counted.
 */
class CoreTablesMetadataTest {

    @Test
    void aFreshHeapsMetadataCountsItsTables() throws ReflectiveOperationException {
        try (Heap heap = Heap.builder().name("tables").build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            long tables = core.tableBytes();
            // The current pages table alone: 64 thread slots of 64 entries, one a size class and room.
            assertTrue(tables >= 16 + 4L * 64 * 64, "tables " + tables);
            long fresh = heap.stats().metadataBytes();
            assertTrue(fresh >= tables, "metadata " + fresh + " leaves out the tables' " + tables);

            long block = heap.mallocAddress(64);
            assertTrue(heap.stats().metadataBytes() > fresh, "a page's bookkeeping adds to the tables'");
            heap.freeAddress(block);
            heap.trim();
            assertTrue(heap.stats().metadataBytes() >= tables);
        }
    }
}
