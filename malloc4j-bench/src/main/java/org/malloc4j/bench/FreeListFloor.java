package org.malloc4j.bench;

import java.util.Arrays;

/**
 * A reference beneath malloc4j's raw API: one thread's size-segregated free lists of addresses
 * kept in Java arrays, and a table from each 64 KiB page to its size class, with no checks at all.
 * Measured on the same JVM in the same run, it shows what the bookkeeping of an allocator written
 * in Java costs by itself; what lies between it and malloc4j is what malloc4j's promises cost (a
 * double or invalid free caught, frees from any thread, blocks counted, memory returned to the OS)
 * and the structure that serves them.
 *
 * <p>The shape is tcmalloc's free lists without the per-thread cache lookup: a malloc pops its
 * class's list or bumps its class's page, a free reads its page's class and pushes. Size classes
 * step by 16 bytes to 128 B, then four to a doubling, as malloc4j's do. The addresses are numbers
 * only, with no memory behind them: nothing is committed, touched or copied (a {@link #realloc}
 * that changes class moves without copying), so every score counts the bookkeeping alone. Freed
 * blocks are reused, pages never given back. Not thread-safe: one thread's instance.
 */
final class FreeListFloor {
    /** 64 KiB pages, as malloc4j's small ones. */
    private static final int PAGE_SHIFT = 16;
    private static final long PAGE_BYTES = 1L << PAGE_SHIFT;
    /** The first page's address: any number above 0 that no real block needs. */
    private static final long BASE = 1L << 32;
    /** The largest request: 64 MiB, past every size the benchmarks ask for. */
    static final long MAX_BYTES = 1L << 26;
    private static final int CLASSES = classOf(MAX_BYTES) + 1;

    /** Each class's free addresses, from index 1; index 0 holds their count. */
    private final long[][] freeLists = new long[CLASSES][];
    private final long[] bump = new long[CLASSES];
    private final long[] bumpEnd = new long[CLASSES];
    /** Each page's size class: 64 GiB of address space. */
    private final byte[] pageClasses = new byte[1 << 20];
    private long nextPage = BASE;

    FreeListFloor() {
        for (int sizeClass = 0; sizeClass < CLASSES; sizeClass++) {
            freeLists[sizeClass] = new long[64];
        }
    }

    /**
     * @param byteSize 0 to {@link #MAX_BYTES} bytes
     * @return the address of a block of at least {@code byteSize} bytes, 16-byte aligned
     * @throws IllegalArgumentException if {@code byteSize} is negative or over {@link #MAX_BYTES}
     * @throws IllegalStateException if the 64 GiB of addresses are used up
     */
    long malloc(long byteSize) {
        int sizeClass = classOf(byteSize);
        long[] free = freeLists[sizeClass];
        int count = (int) free[0];
        if (count > 0) {
            free[0] = count - 1;
            return free[count];
        }
        long address = bump[sizeClass];
        if (address < bumpEnd[sizeClass]) {
            bump[sizeClass] = address + blockBytes(sizeClass);
            return address;
        }
        return fromNewPage(sizeClass);
    }

    /** @param address a block this instance returned and has not had back since; anything else corrupts it */
    void free(long address) {
        int sizeClass = classAt(address);
        long[] free = freeLists[sizeClass];
        int count = (int) free[0] + 1;
        if (count == free.length) {
            free = freeLists[sizeClass] = Arrays.copyOf(free, free.length * 2);
        }
        free[count] = address;
        free[0] = count;
    }

    /**
     * @return {@code address} itself if {@code byteSize} falls in its class, else another block
     *     (the contents are not copied: there are none)
     * @throws IllegalArgumentException as {@link #malloc} does
     */
    long realloc(long address, long byteSize) {
        if (classOf(byteSize) == classAt(address)) {
            return address;
        }
        long moved = malloc(byteSize);
        free(address);
        return moved;
    }

    /** @return the usable bytes of the block at {@code address}, a block of this instance */
    long usableSize(long address) {
        return blockBytes(classAt(address));
    }

    private int classAt(long address) {
        return pageClasses[(int) ((address - BASE) >>> PAGE_SHIFT)];
    }

    /** A page of {@code sizeClass}'s blocks: 64 KiB, or one block where that is larger. */
    private long fromNewPage(int sizeClass) {
        long blockBytes = blockBytes(sizeClass);
        long pageBytes = Math.max(PAGE_BYTES, (blockBytes + PAGE_BYTES - 1) & -PAGE_BYTES);
        long page = nextPage;
        long firstSlot = (page - BASE) >>> PAGE_SHIFT;
        long slots = pageBytes >>> PAGE_SHIFT;
        if (firstSlot + slots > pageClasses.length) {
            throw new IllegalStateException("the floor's 64 GiB of addresses are used up");
        }
        Arrays.fill(pageClasses, (int) firstSlot, (int) (firstSlot + slots), (byte) sizeClass);
        nextPage = page + pageBytes;
        bump[sizeClass] = page + blockBytes;
        bumpEnd[sizeClass] = page + pageBytes - blockBytes + 1;
        return page;
    }

    /**
     * @return the size class of {@code byteSize}: classes 0-7 are 16-128 B by 16 (0 also takes a
     *     request of 0 bytes), then four classes to each doubling
     * @throws IllegalArgumentException if {@code byteSize} is negative or over {@link #MAX_BYTES}
     */
    static int classOf(long byteSize) {
        if (byteSize <= 128) {
            if (byteSize < 0) {
                throw new IllegalArgumentException("negative size: " + byteSize);
            }
            return byteSize == 0 ? 0 : (int) ((byteSize - 1) >>> 4);
        }
        if (byteSize > MAX_BYTES) {
            throw new IllegalArgumentException("over the floor's largest block of " + MAX_BYTES + " bytes: " + byteSize);
        }
        int log = 63 - Long.numberOfLeadingZeros(byteSize - 1);
        return 8 + (log - 7) * 4 + (int) (((byteSize - 1) >>> (log - 2)) & 3);
    }

    /** @return the bytes of each block of {@code sizeClass} */
    static long blockBytes(int sizeClass) {
        if (sizeClass < 8) {
            return (sizeClass + 1) * 16L;
        }
        int log = 7 + (sizeClass - 8) / 4;
        int quarter = (sizeClass - 8) % 4;
        return (1L << log) + ((long) (quarter + 1) << (log - 2));
    }
}
