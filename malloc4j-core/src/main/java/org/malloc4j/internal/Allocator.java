package org.malloc4j.internal;

import java.lang.foreign.MemorySegment;
import org.malloc4j.HeapStats;
import org.malloc4j.LeakReport;
import org.malloc4j.MemoryMisuseException;

/**
 * What {@code org.malloc4j.Heap} delegates to: the fast allocator ({@link HeapCore}) or the checked
 * one ({@link CheckedAllocator}). Addresses are raw; {@code throwing} chooses between
 * {@code HeapExhaustedError} and a 0 result on exhaustion.
 */
public interface Allocator {
    long malloc(long byteSize, boolean throwing);

    long calloc(long byteSize, boolean throwing);

    long realloc(long address, long newByteSize, boolean throwing);

    long mallocAligned(long byteSize, long byteAlignment, boolean throwing);

    void free(long address);

    long usableSize(long address);

    /** What {@code address} is in this heap, for a person: {@code org.malloc4j.Heap#describe(long)}. */
    String describe(long address);

    /**
     * The report for {@code operation} given a segment at {@code address} whose scope is closed,
     * which the call refuses whatever the address holds now: its block is gone, and the memory may
     * be another block's since.
     *
     * @throws IllegalStateException if this heap is closed
     */
    MemoryMisuseException closedScope(String operation, long address);

    /** A segment of exactly {@code byteSize} bytes over the live block at {@code address}. */
    MemorySegment segment(long address, long byteSize);

    /**
     * {@link #realloc} and {@link #segment} in one: an allocator whose block may move makes the
     * new block's segment before it frees the old block, so that a Java heap with no room for
     * the segment fails the call with the old block live (a checked heap's checked blocks are
     * resized first and given their segment after).
     *
     * @return the resized block's segment, or {@link MemorySegment#NULL} where {@code realloc}
     *     returns 0
     */
    default MemorySegment reallocSegment(long address, long newByteSize, boolean throwing) {
        long resized = realloc(address, newByteSize, throwing);
        return resized == 0 ? MemorySegment.NULL : segment(resized, newByteSize);
    }

    /**
     * {@link #segment} of a block the caller has just allocated and not yet handed out. Where the
     * Java heap has no room for the segment, an allocator that can free the block without
     * allocating (a fast heap's) frees it, as never handed out, before the error goes on: the
     * program never saw the block, and could not free it.
     */
    default MemorySegment newSegment(long address, long byteSize) {
        return segment(address, byteSize);
    }

    /**
     * A new block as a segment of exactly {@code byteSize} bytes: {@code segment(malloc(byteSize,
     * true), byteSize)}, which an allocator may do in one step.
     */
    default MemorySegment mallocSegment(long byteSize) {
        return newSegment(malloc(byteSize, true), byteSize);
    }

    /**
     * Marks a live block as held by {@code owner} (a scope, bump arena, pool or growable array):
     * freeing it through the heap's own {@code free} is then an alloc-dealloc mismatch. Only checked
     * modes record owners: on a {@link org.malloc4j.CheckMode#FAST} heap {@code owner} may be null.
     */
    default void setOwner(long address, BlockHolder owner) {
    }

    /**
     * Starts the resize of a held block by its holder (a growable array) through this allocator's
     * realloc, on the calling thread: the block stays held, refused to everyone else, and the
     * realloc may move and free it ({@link HolderCall}).
     */
    default void beginHolderResize(long address) {
        HolderCall.begin(address);
    }

    /** Ends {@link #beginHolderResize} of the block at {@code address}. */
    default void endHolderResize(long address) {
        HolderCall.end();
    }

    /** Frees a block on behalf of the owner that {@linkplain #setOwner holds} it. */
    default void freeOwned(long address) {
        free(address);
    }

    /**
     * @return the owner of a live checked block, {@code ""} if the heap API holds it, or null if
     *     this allocator does not know (fast mode, or not a live block)
     */
    default String ownerOf(long address) {
        return null;
    }

    /**
     * Whether an owner that hands out blocks of its own (a pool) records where the one it hands out
     * now is taken and given back: every time in full mode, with the odds a malloc is sampled at in
     * sampled mode, never in fast mode.
     */
    default boolean sampleOwnedBlock() {
        return false;
    }

    /**
     * The allocator {@code Heap} calls for malloc, free and their segments: this one, or in sampled
     * mode the fast core itself, which hands sampled blocks to the sanitizer and routes their frees
     * back, so an unsampled block costs what it costs in fast mode.
     */
    default Allocator fastPath() {
        return this;
    }

    /** @return the heap's fault policy, or null if it has none */
    default FaultPolicy faults() {
        return null;
    }

    HeapStats stats();

    /** @return {@link #stats}'s committed bytes plus its metadata bytes, without summing the live blocks */
    long footprintBytes();

    void trim();

    /** Verifies every invariant the allocator can; throws {@code MemoryMisuseException} on damage. */
    void check();

    LeakReport leaks();

    String name();

    org.malloc4j.CheckMode checkMode();

    boolean isClosed();

    /**
     * @return whether the allocator is closed but memory a downcall was using at its close is still
     *     mapped, for another {@link #close()} to unmap
     */
    boolean leftMapped();

    void close();

    /** Makes the allocator for {@code config}: checked when the mode or fault injection asks for it. */
    static Allocator create(HeapConfig config) {
        Os.checkAvailable();
        HeapCore core = HeapCore.create(config);
        if (config.mode() == org.malloc4j.CheckMode.FAST && config.faults() == null) {
            return core;
        }
        return new CheckedAllocator(core, config);
    }
}
