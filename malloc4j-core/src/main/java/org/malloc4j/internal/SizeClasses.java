package org.malloc4j.internal;

/**
 * The size-class table: 16-byte steps up to 128 B, then four classes per doubling up to 128 KiB,
 * so a request of more than 128 B wastes at most 20 % of its block, and a smaller one at most
 * 15 bytes (jemalloc's and mimalloc's spacing).
 *
 * <pre>
 * class   0..7   : 16, 32, 48, ..., 128                    (step 16)
 * class   8..11  : 160, 192, 224, 256                      (step 32)
 * class  12..15  : 320, 384, 448, 512                      (step 64)
 *   ...  four a doubling, step = 2^(floor(log2(size - 1)) - 2)
 * class  28..31  : 5 KiB, 6 KiB, 7 KiB, 8 KiB  -- the last small class
 * class  44..47  : 80 KiB, 96 KiB, 112 KiB, 128 KiB -- the last medium class
 * </pre>
 *
 * Small classes (blocks up to {@link #SMALL_MAX}) live in 64 KiB pages; medium classes (up to
 * {@link #MEDIUM_MAX}) in 512 KiB pages. Anything larger is a large block (a run of slices) or a
 * huge block (a mapping of its own).
 */
public final class SizeClasses {
    /** The largest block size of a small page. */
    public static final int SMALL_MAX = 8 * 1024;
    /** The largest block size of a medium page. */
    public static final int MEDIUM_MAX = 128 * 1024;
    /** The number of size classes. */
    public static final int COUNT = 48;
    /** The first medium class. */
    public static final int FIRST_MEDIUM = 32;

    private static final int[] BLOCK_SIZE = new int[COUNT];
    /**
     * {@code (size + 15) / 16 -> class}, for every small size: one load, and no branch that a mix
     * of sizes would mispredict. Exact because every class boundary is a multiple of 16.
     */
    private static final byte[] SMALL_LOOKUP = new byte[SMALL_MAX / 16 + 1];

    static {
        for (int c = 0; c < COUNT; c++) {
            BLOCK_SIZE[c] = computeBlockSize(c);
        }
        for (int granules = 0; granules < SMALL_LOOKUP.length; granules++) {
            SMALL_LOOKUP[granules] = (byte) computeClass(Math.max(1, granules * 16L));
        }
    }

    private SizeClasses() {
    }

    private static int computeBlockSize(int sizeClass) {
        if (sizeClass < 8) {
            return (sizeClass + 1) * 16;
        }
        int k = sizeClass - 8;
        int log = 7 + k / 4;
        return (1 << log) + ((k % 4) + 1) * (1 << (log - 2));
    }

    private static int computeClass(long byteSize) {
        if (byteSize <= 128) {
            return (int) ((Math.max(byteSize, 1) + 15) >>> 4) - 1;
        }
        int log = 63 - Long.numberOfLeadingZeros(byteSize - 1);
        int quarter = (int) ((byteSize - 1) >>> (log - 2)) & 3;
        return 8 + (log - 7) * 4 + quarter;
    }

    /**
     * @param byteSize a request of at most {@link #MEDIUM_MAX} bytes (0 counts as 1)
     * @return the smallest class whose blocks hold it
     */
    public static int classOf(long byteSize) {
        if (byteSize <= SMALL_MAX) {
            return SMALL_LOOKUP[(int) ((byteSize + 15) >>> 4)];
        }
        return computeClass(byteSize);
    }

    /**
     * The table's spacing carried on past {@link #MEDIUM_MAX}, for blocks sized to be reused by
     * requests that grow a little: within the table it is {@code blockSize(classOf(byteSize))},
     * beyond it the next multiple of a quarter of the largest power of two below {@code byteSize}.
     * So a request of more than 128 B gets less than 25 % more than it asked, and a request creeping
     * from {@code a} to {@code b} crosses about {@code 4 * log2(b / a)} steps.
     *
     * @param byteSize a request in bytes, from 0 to 2<sup>62</sup> (0 counts as 1)
     * @return the smallest step of the spacing that holds it, in bytes
     */
    public static long spacedSize(long byteSize) {
        if (byteSize <= 128) {
            return (Math.max(byteSize, 1) + 15) & -16;
        }
        long step = Long.highestOneBit(byteSize - 1) >>> 2;
        return (byteSize + step - 1) & -step;
    }

    /** @return the block size of {@code sizeClass}, in bytes */
    public static int blockSize(int sizeClass) {
        return BLOCK_SIZE[sizeClass];
    }

    /** @return whether {@code sizeClass} lives in medium (512 KiB) pages */
    public static boolean isMedium(int sizeClass) {
        return sizeClass >= FIRST_MEDIUM;
    }

    /**
     * The smallest class at or above {@code classOf(byteSize)} whose block size is a multiple of
     * {@code byteAlignment}, so that every block of a page of that class is aligned; -1 if none.
     *
     * @param byteAlignment a power of two
     */
    public static int alignedClassOf(long byteSize, long byteAlignment) {
        for (int c = classOf(byteSize); c < COUNT; c++) {
            if ((BLOCK_SIZE[c] & (byteAlignment - 1)) == 0) {
                return c;
            }
        }
        return -1;
    }

    /**
     * The largest difference between a block's size and a request it serves, which bounds the
     * per-block slack a page records.
     */
    static int maxSlack(int sizeClass) {
        return sizeClass == 0 ? 15 : BLOCK_SIZE[sizeClass] - BLOCK_SIZE[sizeClass - 1] - 1;
    }
}
