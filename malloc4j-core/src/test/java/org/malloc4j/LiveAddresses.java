package org.malloc4j;

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
}
