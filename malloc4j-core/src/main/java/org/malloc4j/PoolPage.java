package org.malloc4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One page of a {@link FixedSizePool}: {@code capacity} blocks, {@code stride} bytes apart, in one
 * block of the heap. Block {@code i} lies in the slot of {@code stride} bytes at {@code i * stride}
 * from the page's base, {@code firstBlock} bytes into it; in {@link CheckMode#FULL} the slot's other
 * bytes are the block's redzones, else {@code firstBlock} is 0 and they are padding. Not
 * thread-safe; the pool guards it, except from {@link #liveTakes}, which a leak report calls on any
 * thread.
 *
 * <h2>Block states, all out of band</h2>
 * Block {@code i} is
 * <ul>
 *   <li><em>untouched</em> when {@code i >= bump}: never handed out;
 *   <li><em>free</em> when bit {@code i} of {@link #freeBits} is set: handed out, then freed;
 *   <li><em>live</em> otherwise.
 * </ul>
 * Free blocks are found in O(1) through two summary levels: bit {@code w} of
 * {@code summary[w >>> 6]} is set when word {@code w} of {@code freeBits} has a set bit, and bit
 * {@code s} of {@link #top} when {@code summary[s]} is non-zero. Three trailing-zero counts find a
 * free block among up to 64 × 64 × 64 = {@value #MAX_CAPACITY}. Nothing is ever stored in the blocks,
 * so no user write can corrupt the pool, and a freed block is told from a live one in O(1).
 */
final class PoolPage {
    /** The most blocks a page may have: what three bitmap levels of 64 bits index. */
    static final int MAX_CAPACITY = 64 * 64 * 64;

    final long base;
    /**
     * The page's own scope: closed when the page goes back to the heap, so a stale segment of one
     * of its blocks throws instead of reaching memory the heap may have unmapped or handed out.
     */
    final Arena arena;
    final MemorySegment segment;
    final int capacity;
    private final long stride;
    /** Where block 0 starts, in bytes from {@link #base}: its front redzone's width, 0 without redzones. */
    private final long firstBlock;
    private final long[] freeBits;
    private final long[] summary;
    private long top;
    private int bump;
    private int live;
    /**
     * In a checked mode, who took and gave back each recorded block, by index; null until the page's
     * first record (always, in fast mode). A map, not an array, as sampled mode records few blocks;
     * concurrent, and volatile, so a leak report may read it while a pool without a lock is in use.
     */
    private volatile Map<Integer, PoolBlockRecord> records;

    /** Links in the pool's list of pages with room; {@code listed} says whether the page is in it. */
    PoolPage previous;
    PoolPage next;
    boolean listed;

    PoolPage(long base, Arena arena, MemorySegment segment, int capacity, long stride, long firstBlock) {
        this.base = base;
        this.arena = arena;
        this.segment = segment;
        this.capacity = capacity;
        this.stride = stride;
        this.firstBlock = firstBlock;
        int words = (capacity + 63) >>> 6;
        this.freeBits = new long[words];
        this.summary = new long[(words + 63) >>> 6];
    }

    /** @return whether every block is live */
    boolean isFull() {
        return top == 0 && bump == capacity;
    }

    /** @return whether no block is live */
    boolean isEmpty() {
        return live == 0;
    }

    int live() {
        return live;
    }

    /** Hands out a block; the page must not be {@linkplain #isFull() full}. @return its index */
    int take() {
        live++;
        if (top == 0) {
            return bump++;
        }
        int summaryIndex = Long.numberOfTrailingZeros(top);
        int word = (summaryIndex << 6) + Long.numberOfTrailingZeros(summary[summaryIndex]);
        long bits = freeBits[word];
        int index = (word << 6) + Long.numberOfTrailingZeros(bits);
        bits &= bits - 1;
        freeBits[word] = bits;
        if (bits == 0) {
            clearSummary(word);
        }
        return index;
    }

    private void clearSummary(int word) {
        int summaryIndex = word >>> 6;
        long bits = summary[summaryIndex] & ~(1L << word);
        summary[summaryIndex] = bits;
        if (bits == 0) {
            top &= ~(1L << summaryIndex);
        }
    }

    /** Takes back live block {@code index}; check {@link #isLive} first. */
    void give(int index) {
        live--;
        int word = index >>> 6;
        freeBits[word] |= 1L << index;
        summary[word >>> 6] |= 1L << word;
        top |= 1L << (word >>> 6);
    }

    /**
     * Sets the record of block {@code index}, just taken, replacing the one of its earlier take: null
     * when the take was not recorded, so an earlier take's stacks never stand for this one.
     */
    void recordTake(int index, PoolBlockRecord record) {
        Map<Integer, PoolBlockRecord> byIndex = records;
        if (record != null) {
            if (byIndex == null) {
                byIndex = new ConcurrentHashMap<>();
                records = byIndex;
            }
            byIndex.put(index, record);
        } else if (byIndex != null && byIndex.get(index) != null) {
            // Looked up first: removing a key that is not there locks the key's bin, and in sampled
            // mode most takes are not recorded.
            byIndex.remove(index);
        }
    }

    /** @return the record of block {@code index}'s latest take, or null if it was not recorded */
    PoolBlockRecord recordOf(int index) {
        Map<Integer, PoolBlockRecord> byIndex = records;
        return byIndex == null ? null : byIndex.get(index);
    }

    /**
     * Where each live block was taken, in block order: its take's stack, or null when the take was
     * not recorded. Under the pool's lock the answer is exact. Without it (a pool that is not
     * thread-safe, read by a leak report on another thread), it reads only fields that cannot throw
     * whatever state they are caught in: a block taken or given back meanwhile may be listed or not,
     * and a block taken at that moment is listed as not recorded rather than with the stack of its
     * previous take.
     */
    List<StackTraceElement[]> liveTakes() {
        Map<Integer, PoolBlockRecord> byIndex = records;
        int handedOut = Math.min(bump, capacity);
        List<StackTraceElement[]> takes = new ArrayList<>();
        for (int index = 0; index < handedOut; index++) {
            if (isLive(index)) {
                PoolBlockRecord record = byIndex == null ? null : byIndex.get(index);
                takes.add(record == null || record.isGivenBack() ? null : record.takeStack);
            }
        }
        return takes;
    }

    /** @return whether block {@code index} was handed out and not freed since */
    boolean isLive(int index) {
        return index < bump && (freeBits[index >>> 6] & (1L << index)) == 0;
    }

    /** @return whether block {@code index} was ever handed out */
    boolean wasHandedOut(int index) {
        return index < bump;
    }

    /** @return how many blocks, from block 0 on, were ever handed out */
    int handedOut() {
        return bump;
    }

    long blockAddress(int index) {
        return base + blockOffset(index);
    }

    /** @return where block {@code index} starts, in bytes from {@link #base} */
    long blockOffset(int index) {
        return firstBlock + index * stride;
    }

    /** @return the Java heap bytes this page's bookkeeping takes, roughly */
    long metadataBytes() {
        return 64 + 16 + 8L * freeBits.length + 16 + 8L * summary.length;
    }
}
