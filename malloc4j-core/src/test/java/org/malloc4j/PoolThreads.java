package org.malloc4j;

/**
 * Takes and gives back a {@link FixedSizePool}'s blocks on threads named "taker" and "giver", so
 * that a report can be checked for naming where a block was taken and where it was given back.
 */
final class PoolThreads {
    private PoolThreads() {
    }

    /**
     * Takes a block on a thread named "taker". Take one before it first when a test writes before
     * it: the byte before a page's first block may be unmapped where a pool keeps no redzones.
     */
    static long takeOnTaker(FixedSizePool pool) throws InterruptedException {
        long[] block = new long[1];
        Thread.ofPlatform().name("taker").start(() -> block[0] = pool.allocateAddress()).join();
        return block[0];
    }

    /** Gives {@code block} back on a thread named "giver". */
    static void giveOnGiver(FixedSizePool pool, long block) throws InterruptedException {
        Thread.ofPlatform().name("giver").start(() -> pool.freeAddress(block)).join();
    }
}
