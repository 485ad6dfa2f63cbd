package org.malloc4j;

/**
 * How much a heap checks, each level a superset of the one before (mimalloc's debug levels and
 * AddressSanitizer as models). Chosen with {@link Heap.Builder#checkMode}, and for the global heap
 * with the system property {@code malloc4j.check} ({@code fast}, {@code sampled}, {@code full}).
 * An enum, so immutable and safe to share between threads.
 */
public enum CheckMode {
    /**
     * The default. Double and invalid frees are still caught (one atomic compare-and-set), nothing
     * else is recorded: no stacks, no quarantine, no redzones.
     */
    FAST,
    /**
     * For production (GWP-ASan's idea): one allocation in {@link Heap.Builder#sampleInterval N}
     * gets everything {@link #FULL} gives a block — its own scope, so a use after free through its
     * segment throws; allocation and free stacks; quarantine; redzones — and the others take the
     * fast path. Leak reports cover the sampled blocks. A sampled block moves at every
     * {@link Heap#realloc}, as in {@code FULL}; the others resize in place as in {@link #FAST}.
     * A misuse of an unsampled block (a double free, an interior address) is caught as in
     * {@code FAST}, with no allocation or free stack to tell; its report, like every report of a
     * checked heap, still lists the misusing call's frames and names the first in its SUMMARY.
     */
    SAMPLED,
    /**
     * Every block is checked. Each block's segment has its own scope, closed at free, so any Java
     * access after free is rejected by the JVM ({@link IllegalStateException}). Allocation and free
     * stacks are recorded; freed blocks wait in a quarantine (capped in bytes) before reuse; new
     * blocks are filled with {@link #JUNK_BYTE}, freed ones with {@link #POISON_BYTE}; 16-byte
     * redzones of {@link #CANARY_BYTE} surround every block and are verified at free and by
     * {@link Heap#check()} (a block {@linkplain Heap#mallocAligned aligned} to more than 16 bytes
     * has the alignment's bytes before it, of which only the last 16 are a redzone: the rest is
     * neither filled nor verified, so a write into it goes unreported, yet it takes memory like the
     * block (it is committed, and lies in the OS page of the front redzone); a block aligned
     * to more than 4096 bytes has only the redzone after it, since one before it would cost as many
     * bytes as the alignment); {@link Heap#realloc} always moves a checked block, shrinking or growing, as
     * AddressSanitizer does, so that a stale segment or address of the old block hits a freed,
     * poisoned block instead of one resized under it (so the same program makes more mallocs here
     * than in {@link #FAST}, and a checked block's {@link Heap#usableSize usable size} is its
     * requested size), except a shrink at the heap's {@link Heap.Builder#maxCommittedBytes limit}
     * with no memory left for the smaller block: that one keeps the block's address, and ends its
     * old segments, so only a stale raw address goes unnoticed there; leaks are reported at
     * {@link Heap#close()}. The blocks a {@link FixedSizePool} hands out have redzones, stacks and
     * fills too, as its description says, but no scope of their own and no quarantine. Much slower than {@link #FAST}: for tests and debugging. Each live
     * block also takes about 290 bytes of the Java heap for its record, its own scope and the
     * watch on its segment (below); a stack is kept once, however many blocks were allocated or
     * freed there (AddressSanitizer's stack depot), and let go once no record holds it. A freed
     * block keeps its record while it is in quarantine, and then while it is among the last 65,536
     * freed (so a double free names both stacks): a quarantine of tiny blocks may hold hundreds of
     * thousands of records,
     * about 500 bytes of the Java heap each when their stacks are all different.
     *
     * <p>What a user sees, by kind: an access through a freed block's segment throws
     * {@link IllegalStateException} from the JVM at once; an access past a segment's end throws
     * {@link IndexOutOfBoundsException} at once (segments are exactly the requested size); writes
     * through raw addresses are only seen afterwards — past a block's end or before its start as
     * {@link MemoryMisuseException.Kind#HEAP_BUFFER_OVERFLOW} when the block is freed or
     * {@link Heap#check()} runs, into freed memory as {@link MemoryMisuseException.Kind#USE_AFTER_FREE}
     * when the block leaves quarantine (at the latest when the heap closes) or {@code check()} runs.
     *
     * <p>A block's segment is also watched: when the garbage collector finds the segment of a live
     * block unreachable, a warning with the block's allocation stack goes to standard error at
     * once, as a probable leak, rather than only at {@code close()}. A program that keeps just the
     * address of a block it got as a segment ({@code heap.malloc(n).address()}), or only a segment
     * derived from it ({@code asSlice}, {@code reinterpret}), and frees it later sees that warning
     * for a block it did not leak: allocate such blocks with {@link Heap#mallocAddress}, which makes
     * no segment, or keep the segment {@code malloc} returned. The warning changes nothing: the
     * block can still be freed, and {@code close()} reports only the blocks still live then.
     */
    FULL;

    /** The byte new blocks are filled with in checked mode (calloc's blocks are zeros). */
    public static final byte JUNK_BYTE = (byte) 0xBE;
    /** The byte freed blocks are filled with in checked mode; found changed, it means a write after free. */
    public static final byte POISON_BYTE = (byte) 0xDF;
    /** The byte redzones are filled with; found changed, it means a buffer overflow or underflow. */
    public static final byte CANARY_BYTE = (byte) 0xFA;
}
