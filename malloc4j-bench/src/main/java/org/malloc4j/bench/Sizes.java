package org.malloc4j.bench;

import java.util.SplittableRandom;

/**
 * Precomputed request sizes, so the measured loop only reads an array. A size parameter is either a
 * number of bytes (every request that size) or {@value #MIXED}: uniformly random sizes from
 * {@value #MIXED_MIN} to {@value #MIXED_MAX} bytes, drawn from the fixed seed {@value #SEED}, the
 * same in every run, fork and thread.
 */
public final class Sizes {
    /** The parameter value for random sizes. */
    public static final String MIXED = "mixed";
    /** The smallest mixed size. */
    public static final int MIXED_MIN = 16;
    /** The largest mixed size. */
    public static final int MIXED_MAX = 4096;
    /** The seed every random choice in the benchmarks is drawn from. */
    public static final long SEED = 42;
    /** How many sizes a cyclic stream holds: a power of two, so the index wraps with a mask. */
    public static final int STREAM_LENGTH = 4096;

    private Sizes() {
    }

    /**
     * @param spec a byte count or {@value #MIXED}
     * @param count how many sizes
     * @return {@code count} sizes as {@code spec} says
     * @throws IllegalArgumentException if {@code spec} is neither
     */
    public static long[] of(String spec, int count) {
        long[] sizes = new long[count];
        if (MIXED.equals(spec)) {
            SplittableRandom random = new SplittableRandom(SEED);
            for (int i = 0; i < count; i++) {
                sizes[i] = random.nextInt(MIXED_MIN, MIXED_MAX + 1);
            }
        } else {
            long size;
            try {
                size = Long.parseLong(spec);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("size must be a byte count or \"" + MIXED + "\": " + spec, e);
            }
            java.util.Arrays.fill(sizes, size);
        }
        return sizes;
    }

    /**
     * @param count how many
     * @return the numbers 0 to {@code count - 1} in an order shuffled from {@link #SEED}
     */
    public static int[] shuffledOrder(int count) {
        int[] order = new int[count];
        for (int i = 0; i < count; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(SEED + 1);
        for (int i = count - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
