package org.malloc4j.cli;

import java.util.Arrays;

/**
 * The live blocks of a checked replay, sorted by address, to find in O(log n) whether a new block
 * overlaps one of them. A block of {@code n} bytes at {@code a} covers {@code [a, a + n)}; a
 * zero-byte block covers its first byte, so two of them may not share an address either.
 *
 * <p>A treap over arrays indexed by block id (each id is live at most once), so adding and removing
 * blocks allocates nothing on the Java heap: a checked replay of millions of requests causes no
 * garbage collection, which would disturb the resident set size the replay samples.
 */
final class LiveBlocks {
    private static final int NIL = -1;

    private final long[] address;
    private final long[] size;
    private final int[] left;
    private final int[] right;
    private final int[] priority;
    private int root = NIL;
    private int count;
    /** The two halves {@link #split} produces. */
    private int lower;
    private int upper;

    /** @param numIds the number of block ids; ids run from 0 to {@code numIds - 1} */
    LiveBlocks(int numIds) {
        address = new long[numIds];
        size = new long[numIds];
        left = new int[numIds];
        right = new int[numIds];
        priority = new int[numIds];
        Arrays.setAll(priority, LiveBlocks::mix);
    }

    /**
     * @param start a new block's address
     * @param length its size
     * @return the id of a live block that overlaps it, or -1
     */
    int overlapping(long start, long length) {
        int below = floor(start);
        if (below != NIL && end(below) > start) {
            return below;
        }
        int above = ceiling(start);
        if (above != NIL && address[above] < start + Math.max(length, 1)) {
            return above;
        }
        return NIL;
    }

    /** Adds block {@code id}, which overlaps no live block ({@link #overlapping} returned -1). */
    void add(int id, long start, long length) {
        address[id] = start;
        size[id] = length;
        left[id] = NIL;
        right[id] = NIL;
        split(root, start);
        root = merge(merge(lower, id), upper);
        count++;
    }

    /** Removes live block {@code id}. */
    void remove(int id) {
        split(root, address[id]);
        int before = lower;
        split(upper, address[id] + 1);
        root = merge(before, upper);
        count--;
    }

    /** @return how many blocks are live */
    int size() {
        return count;
    }

    /** @return block {@code id} as {@code block 7 [0x1000, 0x1040)}, for messages */
    String describe(int id) {
        return "block " + id + " [0x" + Long.toHexString(address[id]) + ", 0x"
                + Long.toHexString(address[id] + size[id]) + ")";
    }

    private long end(int id) {
        return address[id] + Math.max(size[id], 1);
    }

    /** @return the live block with the greatest address not above {@code key}, or NIL */
    private int floor(long key) {
        int best = NIL;
        for (int node = root; node != NIL; ) {
            if (address[node] <= key) {
                best = node;
                node = right[node];
            } else {
                node = left[node];
            }
        }
        return best;
    }

    /** @return the live block with the least address not below {@code key}, or NIL */
    private int ceiling(long key) {
        int best = NIL;
        for (int node = root; node != NIL; ) {
            if (address[node] >= key) {
                best = node;
                node = left[node];
            } else {
                node = right[node];
            }
        }
        return best;
    }

    /** Splits the subtree at {@code node} into {@link #lower} (addresses below key) and {@link #upper}. */
    private void split(int node, long key) {
        if (node == NIL) {
            lower = NIL;
            upper = NIL;
        } else if (address[node] < key) {
            split(right[node], key);
            right[node] = lower;
            lower = node;
        } else {
            split(left[node], key);
            left[node] = upper;
            upper = node;
        }
    }

    /** @return the root of the union of two subtrees, every address in {@code a} below those in {@code b} */
    private int merge(int a, int b) {
        if (a == NIL) {
            return b;
        }
        if (b == NIL) {
            return a;
        }
        if (priority[a] > priority[b]) {
            right[a] = merge(right[a], b);
            return a;
        }
        left[b] = merge(a, left[b]);
        return b;
    }

    /** A pseudo-random heap priority per id (a multiplicative hash), which keeps the treap balanced. */
    private static int mix(int id) {
        long z = (id + 1L) * 0x9E37_79B9_7F4A_7C15L;
        return (int) ((z ^ (z >>> 29)) >>> 32);
    }
}
