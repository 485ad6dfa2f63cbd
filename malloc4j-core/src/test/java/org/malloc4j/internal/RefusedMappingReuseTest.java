package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;

/**
 * A huge block that would reuse a kept mapping, but whose commit of the memory the mapping lacks
 * is refused, leaves the kept mappings as they were: in the order they were freed, each with the
 * time it was freed, so the oldest is still the first evicted and purged.
 */
class RefusedMappingReuseTest {
    private static final long MIB = 1 << 20;

    @Test
    void aRefusedReuseLeavesTheKeptMappingWhereItsAgePutsIt() throws Exception {
        try (Heap heap = Heap.builder().name("refused reuse").maxCommittedBytes(256 * MIB)
                .purgeDelay(Duration.ofHours(1)).build()) {
            HeapCore core = (HeapCore) Fields.read(heap, Heap.class, "core");
            SpanAllocator spans = core.spans;
            RetainedMappings retained = (RetainedMappings) Fields.read(spans, SpanAllocator.class, "retained");
            // Mappings of 32 MiB (17 MiB committed) and of 64 MiB, freed in that order.
            long older = heap.mallocAddress(17 * MIB);
            long newer = heap.mallocAddress(33 * MIB);
            heap.freeAddress(older);
            heap.freeAddress(newer);
            List<RetainedMappings.Mapping> kept = mappings(retained);
            assertEquals(older, kept.get(0).base());
            assertEquals(newer, kept.get(1).base());

            // The core may commit nothing while checked blocks wait in quarantine, as the checked
            // blocks' core of a sampled heap with a limit does: the 20 MiB block would reuse the
            // 32 MiB mapping, and its commit of 3 MiB more is refused. The span allocator is called
            // directly: a malloc trims the heap after a refusal, which unmaps every kept mapping.
            Quarantine held = new Quarantine(Long.MAX_VALUE);
            held.reserve(0);
            held.addReserved(new BlockRecord(0, 0, 0, 0));
            core.reuseBeforeCommitting(held);
            spans.lock.lock();
            try {
                assertEquals(0, spans.allocateLarge(20 * MIB, 16, 0));
            } finally {
                spans.lock.unlock();
            }
            core.reuseBeforeCommitting(null);

            assertEquals(kept, mappings(retained), "the refused reuse moved or changed a kept mapping");
            assertEquals(50 * MIB, retained.committed());
        }
    }

    @SuppressWarnings("unchecked")
    private static List<RetainedMappings.Mapping> mappings(RetainedMappings retained) throws Exception {
        RetainedMappings.Mapping[] slots = (RetainedMappings.Mapping[]) Fields.read(retained, RetainedMappings.class,
                "mappings");
        return List.of(Arrays.copyOf(slots, (int) Fields.read(retained, RetainedMappings.class, "count")));
    }
}
