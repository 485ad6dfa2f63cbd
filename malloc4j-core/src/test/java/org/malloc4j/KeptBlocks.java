package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Patterned blocks kept live among freed ones ({@link IdleThread#allocatePatterned}), each with the
 * seed of its pattern, so a test can tell whether returning the free memory beside them cost any
 * of their bytes.
 */
final class KeptBlocks {
    private final List<MemorySegment> blocks = new ArrayList<>();
    private final List<Long> seeds = new ArrayList<>();

    /**
     * Frees 45 blocks in every run of 50 of {@code made} (block {@code i} patterned with
     * {@code seed + i}) on the calling thread and keeps the other 5, so that free OS pages lie next
     * to live blocks.
     *
     * @return the blocks kept
     */
    static KeptBlocks freeRunsBetween(Heap heap, List<MemorySegment> made, long seed) {
        KeptBlocks kept = new KeptBlocks();
        for (int i = 0; i < made.size(); i++) {
            if (i % 50 < 45) {
                heap.free(made.get(i));
            } else {
                kept.add(made.get(i), seed + i);
            }
        }
        return kept;
    }

    void add(MemorySegment block, long seed) {
        blocks.add(block);
        seeds.add(seed);
    }

    int size() {
        return blocks.size();
    }

    /** @return the kept blocks, live */
    List<MemorySegment> blocks() {
        return blocks;
    }

    void assertIntact() {
        for (int k = 0; k < blocks.size(); k++) {
            assertEquals(-1, Patterns.firstMismatch(blocks.get(k), seeds.get(k), blocks.get(k).byteSize()),
                    "a live block beside returned memory lost its bytes");
        }
    }

    /** Frees every kept block, on the calling thread. */
    void freeAll(Heap heap) {
        blocks.forEach(heap::free);
    }

    /**
     * The owner of pages whose free memory went back comes back to them: {@code thread} allocates
     * {@code total} bytes of patterned blocks and 2,000 calloc'ed ones, which must be all zeros, and
     * every block must hold its pattern afterwards.
     *
     * @return the patterned blocks, live
     */
    static List<MemorySegment> allocateAgain(Heap heap, IdleThread thread, long total, long seed)
            throws InterruptedException {
        List<MemorySegment> again = thread.produce(heap, total, seed);
        thread.run(() -> {
            for (int i = 0; i < 2000; i++) {
                MemorySegment zeros = heap.calloc(1, 16 + i % 3000);
                assertEquals(-1, Patterns.firstNonZero(zeros, zeros.byteSize()), "calloc returned dirty memory");
                heap.free(zeros);
            }
        });
        for (int i = 0; i < again.size(); i++) {
            assertEquals(-1, Patterns.firstMismatch(again.get(i), seed + i, again.get(i).byteSize()));
        }
        return again;
    }
}
