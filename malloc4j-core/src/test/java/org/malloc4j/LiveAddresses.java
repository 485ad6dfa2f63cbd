package org.malloc4j;

import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

/** Tests' tables of raw block addresses, where 0 marks a slot that holds no block. */
final class LiveAddresses {
    private LiveAddresses() {
    }

    /** Frees the block of every slot that holds one, and empties the slot. */
    static void freeAll(Heap heap, long[] addresses) {
        for (int i = 0; i < addresses.length; i++) {
            if (addresses[i] != 0) {
                heap.freeAddress(addresses[i]);
                addresses[i] = 0;
            }
        }
    }

    /**
     * One step of a program's working set: a random slot's block is freed if it holds one, else
     * one of 16 B to 600 B (one in eight up to 20 KB) takes it if {@code mayAllocate} says so.
     */
    static void churnStep(Heap heap, long[] live, SplittableRandom random, BooleanSupplier mayAllocate) {
        int slot = random.nextInt(live.length);
        if (live[slot] != 0) {
            heap.freeAddress(live[slot]);
            live[slot] = 0;
        } else if (mayAllocate.getAsBoolean()) {
            live[slot] = heap.mallocAddress(random.nextInt(16, random.nextInt(8) == 0 ? 20_000 : 600));
        }
    }
}
