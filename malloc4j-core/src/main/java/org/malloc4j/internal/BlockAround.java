package org.malloc4j.internal;

/**
 * The block of a page whose memory holds an address, from one read of the page's layout, for a
 * thread that does not hold the page (a misuse report, {@code Heap.describe}): another thread may
 * lay the page out again meanwhile, so each field is read once.
 *
 * @param single whether the page holds one large or huge block
 * @param sizeClass the page's size class, or {@link Page#LARGE} / {@link Page#HUGE}
 * @param blockSize the bytes of each block of a page of blocks; 0 for a single block
 * @param capacity how many blocks the page lays out
 * @param index the block's index; for a page of blocks, at or past {@code capacity} in the page's tail
 * @param start the block's first byte
 * @param usable the block's usable size in bytes: a single block's span may run past it
 */
record BlockAround(boolean single, int sizeClass, int blockSize, int capacity, int index, long start,
        long usable) {
    /**
     * @return the block of {@code page} around {@code address}, or null if another thread was
     *     laying the page out again for a new size class during the read
     */
    static BlockAround of(Page page, long address) {
        int sizeClass = page.sizeClass;
        boolean single = sizeClass < 0;
        int blockSize = page.blockSize;
        int capacity = page.capacity;
        if (!single && blockSize <= 0) {
            return null;
        }
        int index = single ? 0 : (int) ((address - page.start) / blockSize);
        long start = page.start + (long) index * blockSize;
        return new BlockAround(single, sizeClass, blockSize, capacity, index, start,
                single ? page.largeUsable : blockSize);
    }
}
