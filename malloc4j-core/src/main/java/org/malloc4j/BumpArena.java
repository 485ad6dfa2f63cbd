package org.malloc4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import org.malloc4j.internal.BlockHolder;
import org.malloc4j.internal.Os;
import org.malloc4j.internal.SanitizerReports;
import org.malloc4j.internal.SizeClasses;

/**
 * A confined {@link Arena} that carves slices from chunks taken from a {@link Heap}: an allocation
 * is a bounds check and an add (a few nanoseconds), and everything is given back at once by
 * {@link #close()}. Also known as a region, linear or monotonic allocator.
 *
 * <h2>Chunks</h2>
 * <pre>
 *   chunk 0 (chunkByteSize)       chunk 1                    chunk 2 (kept for reuse)
 *  +---------------------------+ +-----------------+------+ +---------------------------+
 *  | a |pad| b    | c |  tail  | | d               | free | |                           |
 *  +---------------------------+ +-----------------+------+ +---------------------------+
 *                      wasted ^                    ^ offset: the next slice starts here
 * </pre>
 * Slices come from the current chunk at the next multiple of their alignment (any power of two).
 * When one does not fit, the tail of the current chunk is skipped and the next chunk is used, taken
 * from the heap if the chain has none left. A request that cannot fit a fresh chunk (its size plus
 * worst-case alignment padding exceeds {@code chunkByteSize}) gets a <em>side block</em> of its own
 * from the heap, aligned as asked and sized as the next section says, and the current chunk stays
 * current.
 *
 * <h2>Statistics</h2>
 * {@link #usedBytes()} counts the bytes of slices handed out since the last {@link #reset()},
 * {@link #wastedBytes()} the bytes passed over (alignment padding, skipped chunk tails, side block
 * tails), and {@link #heldBytes()} the bytes held from the heap; {@code usedBytes + wastedBytes <=
 * heldBytes}.
 *
 * <h2>Reset, mark and rewind</h2>
 * {@link #reset()} makes every chunk and side block free for reuse; {@link #mark()} and
 * {@link #rewind(Mark)} do the same for what was allocated after a mark, like a stack. Nothing goes
 * back to the heap before {@link #close()}: a slice handed out before a reset or rewind stays
 * accessible until {@code close()} (as memory does in C) but now overlaps slices handed out after,
 * so it must not be used. It can only ever see this arena's memory, never another block of the heap.
 *
 * <p>Side blocks freed by a reset or rewind serve later large requests: each takes the smallest
 * spare that holds it at its alignment (in {@link CheckMode#FULL}, only a spare of exactly its
 * size, as below). Since a spare is kept until {@code close()}, a new side
 * block is made with room for a request that grows: its size is the request rounded up to the
 * heap's size-class spacing, four steps per doubling (see {@link Heap}), carried on past the
 * largest class (100,000 bytes get 112 KiB, 150,000 bytes 160 KiB, 1 MiB + 1 byte 1.25 MiB). A side
 * block is thus less than 25 % larger than the request that made it (up to 16 bytes larger for a
 * request of 128 bytes or less), the difference counting as waste, and a loop that marks, allocates
 * a large slice whose size creeps upward at one alignment, and rewinds, holds one side block per
 * step its size crosses (about {@code 4 * log2(largest / smallest) + 1}), together less than 6.5
 * times the largest block, however long it runs: 1,000 rounds creeping from 100,000 to 164,000
 * bytes hold 4 side blocks, 592 KiB. Where the heap refuses that much for want of memory (near its
 * {@linkplain Heap.Builder#maxCommittedBytes limit}), the side block is the request's own size
 * (a failure the heap's {@link FaultInjection} injects is not asked again: see {@link #allocate}).
 * In {@link CheckMode#FULL} a side block is exactly its request, as every block of that mode is,
 * and a spare serves only a request of its own size, so that the heap's redzone follows every
 * slice in a side block, reused or not; such a loop then holds a side block for every distinct
 * size it asked for (and for a size asked at an alignment no spare of that size has), until
 * {@code close()}.
 *
 * <h2>Memory contents</h2>
 * Slices are not zeroed (unlike the JDK's built-in arenas): a fresh chunk holds what the heap gave,
 * a reused one what was written before. {@code allocateFrom} and its kin overwrite what they
 * allocate; call {@link MemorySegment#fill(byte)} where zeros are needed.
 *
 * <h2>Threads</h2>
 * Confined, as {@link Arena#ofConfined()}: only the thread that made the arena may allocate, mark,
 * rewind, reset, close it or access its slices; other threads get {@link WrongThreadException}.
 * After {@link #close()}, every slice is inaccessible ({@link IllegalStateException}). An arena
 * whose thread ended without closing it does not keep its heap open: {@link Heap#close()} gives
 * its memory back and marks it closed. {@link #usedBytes()}, {@link #wastedBytes()},
 * {@link #heldBytes()}, {@link #blockCount()}, {@link #chunkByteSize()}, {@link #isClosed()} and
 * {@link #scope()} check neither the thread nor the state, and throw nothing: another thread may
 * call them, but reads the counters without synchronization, so it may see stale values.
 */
public final class BumpArena implements Arena {
    /** The default chunk size, 64 KiB. */
    public static final long DEFAULT_CHUNK_BYTE_SIZE = 64 * 1024;

    private static final int INITIAL_CHAIN = 4;
    private static final int INITIAL_MARKS = 8;

    private final Heap heap;
    private final long chunkByteSize;
    private final Arena inner = Arena.ofConfined();
    private final Thread owner = Thread.currentThread();
    /**
     * Whether a side block is exactly its request, and a spare serves only a request of its size: in
     * {@link CheckMode#FULL}, so that the heap's redzone follows every side block's slice.
     */
    private final boolean exactSideBlocks;
    /** What holds this arena's chunks, for reports. */
    private final BlockHolder holder = new BlockHolder("a BumpArena");

    // The current chunk, cached for the fast path. With no chunk: chunk == null, limit == -1.
    private MemorySegment chunk;
    private long chunkBase;
    private long offset;
    private long limit = -1;

    private final BlockList chunks = new BlockList();
    private int current = -1;
    /** Side blocks [0, sideUsed) hold slices; [sideUsed, size) are spare. */
    private final BlockList sides = new BlockList();
    private int sideUsed;

    private long usedBytes;
    private long wastedBytes;

    /** Sequence numbers of the live marks, ascending; a mark not in it is stale. */
    private long[] markStack = new long[INITIAL_MARKS];
    private int markDepth;
    private long nextMarkSequence;
    /** The newest live mark (the top of {@link #markStack}), or null when there is none. */
    private Mark topMark;

    /** Set once the blocks are given back: a heap closing on another thread must not unmap them before. */
    private volatile boolean closed;
    private final ArenaClosing closing = new ArenaClosing();

    private BumpArena(Heap heap, long chunkByteSize) {
        this.heap = Objects.requireNonNull(heap, "heap");
        if (chunkByteSize <= 0) {
            throw new IllegalArgumentException("chunkByteSize must be positive: chunkByteSize=" + chunkByteSize);
        }
        if (chunkByteSize > Heap.MAX_BLOCK_BYTE_SIZE) {
            // Every chunk is one block of the heap: a larger one would fail every allocation that needs a chunk.
            throw new IllegalArgumentException("chunkByteSize must be at most " + Heap.MAX_BLOCK_BYTE_SIZE
                    + " bytes (Heap.MAX_BLOCK_BYTE_SIZE), the largest block a heap hands out: chunkByteSize="
                    + chunkByteSize);
        }
        this.chunkByteSize = chunkByteSize;
        this.exactSideBlocks = heap.checkMode() == CheckMode.FULL;
        heap.attach(this);
    }

    /**
     * A bump arena with {@value #DEFAULT_CHUNK_BYTE_SIZE}-byte chunks, confined to the calling thread.
     * No memory is taken from the heap until the first allocation.
     *
     * @param heap the heap chunks are taken from
     * @return a new, empty bump arena
     * @throws NullPointerException if {@code heap} is null
     * @throws IllegalStateException if {@code heap} is closed, or is being closed (see {@link Heap#close()})
     */
    public static BumpArena ofConfined(Heap heap) {
        return new BumpArena(heap, DEFAULT_CHUNK_BYTE_SIZE);
    }

    /**
     * A bump arena with chunks of {@code chunkByteSize} bytes, confined to the calling thread.
     *
     * @param heap the heap chunks are taken from
     * @param chunkByteSize the size of each chunk in bytes, from 1 to {@link Heap#MAX_BLOCK_BYTE_SIZE}
     *     (2<sup>46</sup>, 64 TiB); larger requests get a block of their own
     * @return a new, empty bump arena
     * @throws IllegalArgumentException if {@code chunkByteSize <= 0}, or if it is more than
     *     {@link Heap#MAX_BLOCK_BYTE_SIZE} bytes: each chunk is one block of the heap, and no heap
     *     hands out a larger one; the heap is unchanged
     * @throws NullPointerException if {@code heap} is null
     * @throws IllegalStateException if {@code heap} is closed, or is being closed (see {@link Heap#close()})
     */
    public static BumpArena ofConfined(Heap heap, long chunkByteSize) {
        return new BumpArena(heap, chunkByteSize);
    }

    /**
     * Carves a slice. Its contents are unspecified (see the class documentation).
     *
     * <p>{@link Arena#allocate} promises that no two returned segments overlap; a bump arena keeps
     * that promise only until {@code reset} or {@code rewind} frees memory for reuse.
     *
     * @param byteSize the size in bytes, 0 or more
     * @param byteAlignment any positive power of two
     * @return a native segment of exactly {@code byteSize} bytes whose address is a multiple of
     *     {@code byteAlignment}, whose scope is {@link #scope()}, overlapping no other live slice
     *     (one not freed for reuse since by {@link #reset()} or {@link #rewind(Mark) rewind})
     * @throws IllegalArgumentException if {@code byteSize < 0} or {@code byteAlignment} is not a
     *     positive power of two
     * @throws IllegalStateException if this arena is closed, or it needs a chunk and the heap is closed
     * @throws WrongThreadException if the caller is not the thread that made this arena
     * @throws HeapExhaustedError if it needs a chunk or side block and the heap cannot provide it;
     *     nothing changes then. A new side block that the heap refuses with room to grow (as the
     *     class documentation says) for want of memory is asked for again at {@code byteSize}: this
     *     is thrown when that is refused too, naming {@code byteSize}. To the heap's
     *     {@link FaultInjection} the slice is one allocation: a failure it injects into the first
     *     request is not asked again but thrown, naming {@code byteSize}, as that policy fails a
     *     request of {@code byteSize} (only where the first is refused for want of memory does the
     *     policy see the second as a request of its own, or the policy is
     *     {@link FaultInjection#afterBytes}, which judges by size and is asked again as a limit is)
     * @throws MemoryMisuseException in a checked mode, if it needs a chunk or side block and the heap,
     *     to make room for it, takes a block out of quarantine that was written after its free
     *     ({@link MemoryMisuseException.Kind#USE_AFTER_FREE}, as {@link Heap#malloc} says); nothing
     *     is allocated then
     */
    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        checkUsable();
        HeapScope.checkArguments(byteSize, byteAlignment);
        long start = ((chunkBase + offset + byteAlignment - 1) & -byteAlignment) - chunkBase;
        long end = start + byteSize;
        if (end <= limit && end >= start) {
            wastedBytes += start - offset;
            usedBytes += byteSize;
            offset = end;
            return chunk.asSlice(start, byteSize);
        }
        return allocateSlow(byteSize, byteAlignment);
    }

    private MemorySegment allocateSlow(long byteSize, long byteAlignment) {
        long worstPadding = byteAlignment <= Heap.MIN_ALIGNMENT ? 0 : byteAlignment - Heap.MIN_ALIGNMENT;
        if (byteSize > chunkByteSize - worstPadding) {
            return allocateSide(byteSize, byteAlignment);
        }
        if (current + 1 == chunks.size()) {
            chunks.ensureRoom().add(heap.adopt(heap.mallocAddress(chunkByteSize), holder), chunkByteSize, inner);
        }
        if (current >= 0) {
            wastedBytes += limit - offset;
        }
        enterChunk(current + 1, 0);
        return allocate(byteSize, byteAlignment);
    }

    private MemorySegment allocateSide(long byteSize, long byteAlignment) {
        int spare = sides.bestFit(sideUsed, byteSize, byteAlignment, exactSideBlocks);
        if (spare < 0) {
            addSideBlock(byteSize, Math.max(byteAlignment, Heap.MIN_ALIGNMENT));
            spare = sides.size() - 1;
        }
        sides.swap(spare, sideUsed);
        int side = sideUsed++;
        usedBytes += byteSize;
        wastedBytes += sides.byteSize(side) - byteSize;
        return sides.segment(side).asSlice(0, byteSize);
    }

    /**
     * Takes a new side block for a request of {@code byteSize} bytes from the heap, with room to grow
     * where the heap has it, and appends it to {@link #sides}. To the heap's {@link FaultInjection}
     * this is one request, failed as the policy chooses and named as the caller asked.
     */
    private void addSideBlock(long byteSize, long alignment) {
        long blockSize = sideBlockSize(byteSize);
        long address;
        if (blockSize == byteSize) {
            address = heap.mallocAlignedAddress(byteSize, alignment);
        } else {
            try {
                address = heap.mallocAlignedAddress(blockSize, alignment);
            } catch (HeapExhaustedError refused) {
                heap.askAgainUnlessInjected(refused, byteSize, alignment);
                // Refused for want of memory (a limit near): the request itself may still fit, and
                // a refusal of it names the caller's size.
                blockSize = byteSize;
                address = heap.mallocAlignedAddress(byteSize, alignment);
            }
        }
        sides.ensureRoom().add(heap.adopt(address, holder), blockSize, inner);
    }

    /**
     * Spare side blocks cannot go back to the heap before close, so each is made with room for a
     * request that grows a little: a loop whose large request creeps upward then takes a new block
     * once per step of the spacing, not once per request.
     */
    private long sideBlockSize(long byteSize) {
        if (byteSize > Heap.MAX_BLOCK_BYTE_SIZE || exactSideBlocks) {
            // Past the largest block the heap refuses the request as it is, naming its size. In FULL
            // mode every block is its request, so the heap's redzone sits right after the slice.
            return byteSize;
        }
        return SizeClasses.spacedSize(byteSize);
    }

    private void enterChunk(int index, long newOffset) {
        current = index;
        offset = newOffset;
        if (index < 0) {
            chunk = null;
            chunkBase = 0;
            limit = -1;
        } else {
            chunk = chunks.segment(index);
            chunkBase = chunks.address(index);
            limit = chunks.byteSize(index);
        }
    }

    /** @return the scope of every slice: alive until {@link #close()} */
    @Override
    public MemorySegment.Scope scope() {
        return inner.scope();
    }

    /**
     * Makes all memory free for reuse, keeping every chunk and side block. Every {@link Mark} becomes
     * stale; slices handed out before must no longer be used (see the class documentation).
     *
     * @throws IllegalStateException if this arena is closed
     * @throws WrongThreadException if the caller is not the thread that made this arena
     */
    public void reset() {
        checkUsable();
        enterChunk(chunks.size() > 0 ? 0 : -1, 0);
        sideUsed = 0;
        usedBytes = 0;
        wastedBytes = 0;
        markDepth = 0;
        topMark = null;
    }

    /**
     * Records the current position, for {@link #rewind(Mark)}. When the newest live mark is at the
     * current position (nothing was allocated since it was taken or rewound to), that mark is
     * returned again instead of a new one, so no two live marks share a position and a loop that
     * marks, allocates and rewinds holds one mark however long it runs (and, if it allocates large
     * slices, the few side blocks the class documentation bounds). A new mark costs 8 bytes of
     * Java heap while it is live (until a reset, or a rewind to an earlier mark).
     *
     * @return an opaque mark of this arena's current position
     * @throws IllegalStateException if this arena is closed
     * @throws WrongThreadException if the caller is not the thread that made this arena
     */
    public Mark mark() {
        checkUsable();
        if (topMark != null && topMark.isAt(current, offset, sideUsed, usedBytes, wastedBytes)) {
            return topMark;
        }
        if (markDepth == markStack.length) {
            markStack = Arrays.copyOf(markStack, markDepth * 2);
        }
        long sequence = nextMarkSequence++;
        markStack[markDepth++] = sequence;
        topMark = new Mark(this, sequence, current, offset, sideUsed, usedBytes, wastedBytes);
        return topMark;
    }

    /**
     * Frees, for reuse, everything allocated since {@code mark} was taken, like popping a stack
     * frame: the position, {@link #usedBytes()} and {@link #wastedBytes()} return to what they were.
     * {@code mark} stays live (it can be rewound to again, and {@link #mark()} returns it while the
     * arena stays at its position); every mark taken after it becomes stale.
     * Slices handed out after {@code mark} must no longer be used (see the class documentation).
     *
     * @param mark a live mark of this arena
     * @throws IllegalArgumentException if {@code mark} belongs to another arena, or is stale (taken
     *     before a {@link #reset()}, or after a mark this arena was rewound to since); nothing changes
     * @throws IllegalStateException if this arena is closed
     * @throws WrongThreadException if the caller is not the thread that made this arena
     * @throws NullPointerException if {@code mark} is null
     */
    public void rewind(Mark mark) {
        Objects.requireNonNull(mark, "mark");
        checkUsable();
        if (mark.arena != this) {
            throw new IllegalArgumentException("mark belongs to another arena: mark=" + mark + ", arena=" + this);
        }
        int depth = Arrays.binarySearch(markStack, 0, markDepth, mark.sequence);
        if (depth < 0) {
            throw new IllegalArgumentException("stale mark: it was invalidated by reset() or by a rewind to an "
                    + "earlier mark: mark=" + mark + ", liveMarks=" + markDepth);
        }
        markDepth = depth + 1;
        topMark = mark;
        enterChunk(mark.chunkIndex, mark.offset);
        sideUsed = mark.sideUsed;
        usedBytes = mark.usedBytes;
        wastedBytes = mark.wastedBytes;
    }

    /**
     * Closes this arena: every slice becomes inaccessible, then every chunk and side block goes back
     * to the heap (unless the heap was closed first, which took them already).
     *
     * @throws MemoryMisuseException in a checked mode, if a chunk or side block was written past its
     *     bounds through a raw address ({@link MemoryMisuseException.Kind#HEAP_BUFFER_OVERFLOW}), or
     *     a block its free pushed out of quarantine was written after its free
     *     ({@link MemoryMisuseException.Kind#USE_AFTER_FREE}); the arena is closed and every block
     *     given back all the same
     * @throws IllegalStateException if this arena is already closed, or a slice of it is being
     *     accessed by a downcall at this moment; nothing changes then (and {@link Heap#close()}
     *     leaves this arena and the heap open)
     * @throws WrongThreadException if the caller is not the thread that made this arena, closed or
     *     not: the thread is checked first, as a JDK confined arena checks it (so a thread closing
     *     an arena that {@link Heap#close()} closed for its ended owner gets this, not
     *     {@link IllegalStateException})
     * @throws RuntimeException what a cleanup action attached to one of its slices threw, as it
     *     is (an {@code Error}, or even a checked exception, is thrown unchanged too), with the
     *     reports above suppressed: the arena is closed and every block given back all the same.
     *     An exception made with suppression disabled cannot carry a report: then the first
     *     report is thrown, with the cleanup action's exception suppressed in it
     */
    @Override
    public void close() {
        checkOwner();
        if (closed && !closing.isClosing()) {
            throw alreadyClosed();
        }
        heap.closingDependent(() -> closing.close(inner, "this BumpArena", () -> closed, this::release));
    }

    /**
     * For {@link Heap#close()}, on another thread: if the owner thread has ended (which orders all it
     * did before this call), gives every chunk and side block back and marks this arena closed. Its
     * JDK arena stays open, as only that thread could close it, but no thread can reach a slice.
     *
     * @return whether the owner thread has ended, so this arena is now closed
     */
    synchronized boolean closeIfOwnerEnded() {
        // Synchronized: two closes of the heap (a misuse) must not both free the blocks.
        if (owner.isAlive() || closed) {
            return false;
        }
        release();
        return true;
    }

    /**
     * Marks this arena closed and gives every chunk and side block back; no slice is reachable now.
     *
     * @throws MemoryMisuseException if a checked mode found a block damaged, once all are back
     */
    private void release() {
        enterChunk(-1, 0);
        sideUsed = 0;
        usedBytes = 0;
        wastedBytes = 0;
        markDepth = 0;
        topMark = null;
        try {
            if (!heap.refusesCalls()) {
                MemoryMisuseException damage = SanitizerReports.combine(chunks.freeAll(heap), sides.freeAll(heap));
                if (damage != null) {
                    throw damage;
                }
            }
        } finally {
            closed = true;
            heap.detach(this);
        }
    }

    /** @return the thread this arena is confined to */
    Thread owner() {
        return owner;
    }

    /**
     * @return whether {@link #close()} has been called (or the heap closed this arena): true
     *     already inside the cleanup actions that close runs, as their slices are inaccessible then
     */
    public boolean isClosed() {
        return closed || closing.isClosing();
    }

    /**
     * @return whether this arena has given its chunks and side blocks back: what the heap's close
     *     asks, since an arena whose close is still running its cleanup actions has not
     */
    boolean isReleased() {
        return closed;
    }

    /** @return bytes of the slices handed out since the last {@link #reset()} (or rewound-to mark); 0 after {@link #close()} */
    public long usedBytes() {
        return usedBytes;
    }

    /** @return bytes passed over since the last reset: alignment padding, skipped chunk and side block tails (0 after {@link #close()}) */
    public long wastedBytes() {
        return wastedBytes;
    }

    /** @return bytes of chunks and side blocks held from the heap (0 after {@link #close()}) */
    public long heldBytes() {
        return closed ? 0 : chunks.totalByteSize() + sides.totalByteSize();
    }

    /** @return the number of chunks and side blocks held from the heap (0 after {@link #close()}) */
    public int blockCount() {
        return closed ? 0 : chunks.size() + sides.size();
    }

    /** @return the size of each chunk in bytes */
    public long chunkByteSize() {
        return chunkByteSize;
    }

    @Override
    public String toString() {
        return "BumpArena[heap=" + heap.name() + ", chunkByteSize=" + chunkByteSize + ", usedBytes=" + usedBytes
                + ", wastedBytes=" + wastedBytes + ", heldBytes=" + heldBytes() + (closed ? ", closed]" : "]");
    }

    private void checkUsable() {
        checkOwnerAndOpen();
        if (closing.isClosing()) {
            // A cleanup action its close runs: the JDK arena is closed, and so are new slices.
            throw new AlreadyClosedException(null, "already closed: this bump arena (its close() runs this call)");
        }
    }

    private void checkOwnerAndOpen() {
        checkOwner();
        if (closed) {
            throw alreadyClosed();
        }
    }

    private void checkOwner() {
        if (Thread.currentThread() != owner) {
            throw HeapScope.wrongThread(owner);
        }
    }

    private IllegalStateException alreadyClosed() {
        return new AlreadyClosedException(this, "already closed: this bump arena (by its close(), or its heap's)");
    }

    /**
     * A position in a {@link BumpArena}, from {@link BumpArena#mark()}, to {@link BumpArena#rewind
     * rewind} to. Opaque; valid only for the arena that made it, until a reset or a rewind to an
     * earlier mark. {@code mark()} at the position of the newest live mark returns that mark again.
     * Immutable, so safe to pass between threads; {@link BumpArena#rewind} takes it only on the
     * arena's owner thread, as every other call of the confined arena.
     */
    public static final class Mark {
        private final BumpArena arena;
        private final long sequence;
        private final int chunkIndex;
        private final long offset;
        private final int sideUsed;
        private final long usedBytes;
        private final long wastedBytes;

        private Mark(BumpArena arena, long sequence, int chunkIndex, long offset, int sideUsed,
                long usedBytes, long wastedBytes) {
            this.arena = arena;
            this.sequence = sequence;
            this.chunkIndex = chunkIndex;
            this.offset = offset;
            this.sideUsed = sideUsed;
            this.usedBytes = usedBytes;
            this.wastedBytes = wastedBytes;
        }

        boolean isAt(int chunkIndex, long offset, int sideUsed, long usedBytes, long wastedBytes) {
            return this.chunkIndex == chunkIndex && this.offset == offset && this.sideUsed == sideUsed
                    && this.usedBytes == usedBytes && this.wastedBytes == wastedBytes;
        }

        @Override
        public String toString() {
            return "Mark[sequence=" + sequence + ", chunk=" + chunkIndex + ", offset=" + offset
                    + ", usedBytes=" + usedBytes + "]";
        }
    }

    /** Blocks taken from the heap: address, byte size and a segment with the arena's lifetime. */
    private static final class BlockList {
        private long[] addresses = new long[INITIAL_CHAIN];
        private long[] byteSizes = new long[INITIAL_CHAIN];
        private MemorySegment[] segments = new MemorySegment[INITIAL_CHAIN];
        private int size;
        private long totalByteSize;

        int size() {
            return size;
        }

        long address(int index) {
            return addresses[index];
        }

        long byteSize(int index) {
            return byteSizes[index];
        }

        MemorySegment segment(int index) {
            return segments[index];
        }

        long totalByteSize() {
            return totalByteSize;
        }

        /** Appends a block; call {@link #ensureRoom()} first. */
        void add(long address, long byteSize, Arena arena) {
            addresses[size] = address;
            byteSizes[size] = byteSize;
            segments[size] = Os.segment(address, byteSize, arena);
            size++;
            totalByteSize += byteSize;
        }

        /** Grows the arrays if full; called before taking a block from the heap. */
        BlockList ensureRoom() {
            if (size == addresses.length) {
                addresses = Arrays.copyOf(addresses, size * 2);
                byteSizes = Arrays.copyOf(byteSizes, size * 2);
                segments = Arrays.copyOf(segments, size * 2);
            }
            return this;
        }

        /**
         * @param exactOnly whether only a block of exactly {@code byteSize} bytes will do
         * @return the smallest block in [from, size) that holds the request at offset 0, or -1
         */
        int bestFit(int from, long byteSize, long byteAlignment, boolean exactOnly) {
            int best = -1;
            for (int i = from; i < size; i++) {
                boolean fits = exactOnly ? byteSizes[i] == byteSize : byteSizes[i] >= byteSize;
                if (fits && (addresses[i] & (byteAlignment - 1)) == 0
                        && (best < 0 || byteSizes[i] < byteSizes[best])) {
                    best = i;
                }
            }
            return best;
        }

        void swap(int i, int j) {
            long address = addresses[i];
            addresses[i] = addresses[j];
            addresses[j] = address;
            long byteSize = byteSizes[i];
            byteSizes[i] = byteSizes[j];
            byteSizes[j] = byteSize;
            MemorySegment segment = segments[i];
            segments[i] = segments[j];
            segments[j] = segment;
        }

        /** Gives every block back, even past one a checked mode finds damaged. @return the damage found, or null */
        MemoryMisuseException freeAll(Heap heap) {
            MemoryMisuseException first = null;
            for (int i = 0; i < size; i++) {
                first = SanitizerReports.combine(first, heap.releaseOwned(addresses[i]));
            }
            size = 0;
            totalByteSize = 0;
            segments = new MemorySegment[0];
            return first;
        }
    }
}
