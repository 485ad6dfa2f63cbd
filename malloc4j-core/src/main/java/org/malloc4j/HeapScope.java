package org.malloc4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.malloc4j.internal.BlockHolder;
import org.malloc4j.internal.Os;
import org.malloc4j.internal.SanitizerReports;

/**
 * The {@link Arena} behind {@link Heap#newScope()} and {@link Heap#newSharedScope()}: every
 * {@link #allocate} is one block of the heap, and {@link #close()} frees them all (C++'s RAII, Java's
 * try-with-resources).
 *
 * <h2>Lifetime</h2>
 * A scope owns a JDK arena, {@code inner}, of the same kind (confined or shared). Each block is
 * handed out as a segment of exactly the requested size whose scope is {@code inner}'s, so when
 * {@link #close()} closes {@code inner} every segment of the scope becomes inaccessible at once (the
 * JVM rejects any later access with {@link IllegalStateException}); only then are the blocks freed.
 * The addresses of live blocks are kept on the Java heap, 8 bytes per block: the first in a field,
 * since most scopes hold one block, and the others in a {@code long[]} made for the second.
 *
 * <h2>Threads</h2>
 * A confined scope may be used (allocate, access, close) only by the thread that made it; any other
 * thread gets {@link WrongThreadException}, before anything changes (an {@link #allocate} with bad
 * arguments throws {@link IllegalArgumentException} first, on any thread, as a JDK confined arena
 * does). A shared scope may be used by any thread: its allocations take a lock, and its
 * {@link #close()} costs what closing an {@link Arena#ofShared() shared arena} costs (a handshake
 * with every thread). The close runs the cleanup actions attached to its segments without that
 * lock, so another thread's {@link #allocate} or {@code close()} meanwhile is refused at once
 * ({@link IllegalStateException}), as a JDK shared arena refuses it, and a cleanup action may wait
 * for such a thread. A {@link Heap#close()} meanwhile waits for the cleanup actions to finish,
 * since they may still read their blocks: a cleanup action must not wait for a thread that closes
 * the heap.
 */
final class HeapScope implements Arena {
    private static final int INITIAL_BLOCKS = 8;

    private final Heap heap;
    private final Arena inner;
    /** The owner thread of a confined scope; {@code null} for a shared scope. */
    private final Thread owner;
    /**
     * What holds this scope's blocks, for reports; null on a {@link CheckMode#FAST} heap, which
     * records no holder, so that a scope there makes one object fewer.
     */
    private final BlockHolder holder;
    /** Guards a shared scope's fields; {@code null} for a confined scope. */
    private final ReentrantLock lock;
    /** Signalled when a shared scope's close, which runs its cleanup actions without the lock, ends. */
    private final Condition closeEnded;
    /** The first block's address, once {@link #blockCount} is 1 or more. */
    private long firstBlock;
    /** The addresses of the second block on, or null while there is none. */
    private long[] moreBlocks;
    private int blockCount;
    /** Set once the blocks are freed: a heap closing on another thread must not unmap them before. */
    private volatile boolean closed;
    private final ArenaClosing closing;

    private HeapScope(Heap heap, Arena inner, Thread owner, ReentrantLock lock) {
        this.heap = heap;
        this.inner = inner;
        this.owner = owner;
        this.lock = lock;
        this.holder = heap.checkMode() == CheckMode.FAST ? null : new BlockHolder("a heap scope");
        this.closeEnded = lock == null ? null : lock.newCondition();
        this.closing = new ArenaClosing(lock);
        heap.attach(this);
    }

    /** @return a scope usable only by the calling thread */
    static HeapScope confined(Heap heap) {
        return new HeapScope(heap, Arena.ofConfined(), Thread.currentThread(), null);
    }

    /** @return a scope usable by any thread */
    static HeapScope shared(Heap heap) {
        return new HeapScope(heap, Arena.ofShared(), null, new ReentrantLock());
    }

    /**
     * Allocates a zero-filled block of the heap, freed when this scope closes. The memory is zeroed
     * as by the JDK's built-in arenas, so code written for {@link Arena#ofConfined()} runs unchanged.
     *
     * @param byteSize the size in bytes, 0 or more
     * @param byteAlignment a positive power of two
     * @return a native segment of exactly {@code byteSize} zero bytes whose address is a multiple of
     *     {@code byteAlignment}, whose scope is {@link #scope()}, and which overlaps no other segment
     *     this scope returned
     * @throws IllegalArgumentException if {@code byteSize < 0} or {@code byteAlignment} is not a
     *     positive power of two
     * @throws IllegalStateException if this scope is closed, or its heap is
     * @throws WrongThreadException if this scope is confined and the caller is not its owner
     * @throws HeapExhaustedError if the heap cannot provide the memory
     */
    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        checkArguments(byteSize, byteAlignment);
        if (lock == null) {
            checkOwner();
            return allocateUnlocked(byteSize, byteAlignment);
        }
        lock.lock();
        try {
            return allocateUnlocked(byteSize, byteAlignment);
        } finally {
            lock.unlock();
        }
    }

    private MemorySegment allocateUnlocked(long byteSize, long byteAlignment) {
        if (closed) {
            throw alreadyClosed();
        }
        if (closing.isClosing()) {
            Thread closer = closing.closer();
            if (closer != Thread.currentThread()) {
                throw closingElsewhere(closer);
            }
            // A cleanup action its close runs allocates, into a JDK arena that is closed: that fails
            // the cleanup, and is no close by another thread.
            throw new AlreadyClosedException(null, "already closed: this scope (its close() runs this call)");
        }
        // Room first: a block the scope could not record would leak.
        if (blockCount > 0 && (moreBlocks == null || blockCount - 1 == moreBlocks.length)) {
            moreBlocks = moreBlocks == null ? new long[INITIAL_BLOCKS]
                    : Arrays.copyOf(moreBlocks, moreBlocks.length * 2);
        }
        long address = mallocZeroed(byteSize, byteAlignment);
        if (blockCount == 0) {
            firstBlock = address;
        } else {
            moreBlocks[blockCount - 1] = address;
        }
        blockCount++;
        return Os.segment(address, byteSize, inner);
    }

    private long mallocZeroed(long byteSize, long byteAlignment) {
        if (byteAlignment <= Heap.MIN_ALIGNMENT) {
            return heap.adopt(heap.callocAddress(1, byteSize), holder);
        }
        long address = heap.adopt(heap.mallocAlignedAddress(byteSize, byteAlignment), holder);
        Os.zero(Os.segment(address, byteSize, inner));
        return address;
    }

    /** @return the scope of every segment this scope allocated: alive until {@link #close()} */
    @Override
    public MemorySegment.Scope scope() {
        return inner.scope();
    }

    /**
     * Closes this scope: every segment it returned becomes inaccessible, then every block it
     * allocated goes back to the heap (unless the heap was closed first, which took them already).
     *
     * @throws MemoryMisuseException in a checked mode, if a block was written past its bounds
     *     through a raw address ({@link MemoryMisuseException.Kind#HEAP_BUFFER_OVERFLOW}), or a
     *     block a free pushed out of quarantine was written after its free
     *     ({@link MemoryMisuseException.Kind#USE_AFTER_FREE}); the scope is closed and every block
     *     freed all the same
     * @throws IllegalStateException if this scope is already closed, or its close is under way on
     *     another thread (running the cleanup actions, which it does without holding the scope's
     *     lock), or a segment of it is being accessed by a downcall at this moment; nothing changes
     *     then (and {@link Heap#close()} leaves this scope and the heap open)
     * @throws WrongThreadException if this scope is confined and the caller is not its owner,
     *     closed or not: the thread is checked first, as a JDK confined arena checks it (so a thread
     *     closing a scope that {@link Heap#close()} closed for its ended owner gets this, not
     *     {@link IllegalStateException})
     * @throws RuntimeException what a cleanup action attached to one of its segments threw, as it
     *     is (an {@code Error}, or even a checked exception, is thrown unchanged too), with the
     *     reports above suppressed: the scope is closed and every block freed all the same.
     *     An exception made with suppression disabled cannot carry a report: then the first
     *     report is thrown, with the cleanup action's exception suppressed in it
     */
    @Override
    public void close() {
        if (lock == null) {
            checkOwner();
            heap.closingDependent(this::closeArena);
            return;
        }
        closeShared(false);
    }

    /**
     * @param waitForOtherClose whether to wait while another thread's close runs the cleanup
     *     actions (and then do nothing if that closed the scope), instead of throwing
     */
    private void closeShared(boolean waitForOtherClose) {
        // The lock is taken inside the close under way, not around it: a close of the heap that a
        // cleanup action asked for is carried out as that close returns, and waits for other
        // threads, which may be waiting for this lock.
        heap.closingDependent(() -> {
            lock.lock();
            try {
                for (Thread closer; (closer = closing.closer()) != null && closer != Thread.currentThread(); ) {
                    if (!waitForOtherClose) {
                        throw closingElsewhere(closer);
                    }
                    closeEnded.awaitUninterruptibly();
                }
                if (!waitForOtherClose || !closed) {
                    closeArena();
                }
            } finally {
                if (!closing.isClosing()) {
                    closeEnded.signalAll();
                }
                lock.unlock();
            }
        });
    }

    /** Closes the JDK arena, running the cleanup actions, then gives the blocks back. */
    private void closeArena() {
        if (closed && !closing.isClosing()) {
            throw alreadyClosed();
        }
        closing.close(inner, "this scope", () -> closed, this::release);
    }

    /**
     * {@link #close()} for {@link Heap#close()}: a shared scope's waits while another thread's close
     * runs its cleanup actions, so that the heap unmaps nothing under them, and is done if that
     * closed the scope.
     */
    void closeForHeap() {
        if (lock == null) {
            close();
        } else {
            closeShared(true);
        }
    }

    /**
     * For {@link Heap#close()}, on another thread: if this scope is confined and its owner thread has
     * ended (which orders all it did before this call), frees its blocks and marks it closed. Its
     * JDK arena stays open, as only that thread could close it, but no thread can reach a segment.
     *
     * @return whether this is a confined scope whose owner thread has ended, so it is now closed
     */
    synchronized boolean closeIfOwnerEnded() {
        // Synchronized: two closes of the heap (a misuse) must not both free the blocks.
        if (owner == null || owner.isAlive() || closed) {
            return false;
        }
        release();
        return true;
    }

    /**
     * Marks this scope closed and frees its blocks; none of its segments is reachable now.
     *
     * @throws MemoryMisuseException if a checked mode found a block damaged, once all are freed
     */
    private void release() {
        long first = firstBlock;
        long[] more = moreBlocks;
        int count = blockCount;
        firstBlock = 0;
        moreBlocks = null;
        blockCount = 0;
        try {
            if (!heap.refusesCalls()) {
                MemoryMisuseException damage = null;
                for (int i = 0; i < count; i++) {
                    damage = SanitizerReports.combine(damage, heap.releaseOwned(i == 0 ? first : more[i - 1]));
                }
                if (damage != null) {
                    throw damage;
                }
            }
        } finally {
            // Closed and detached once its blocks are freed: a close of the heap on another thread
            // meanwhile still finds it open (a shared scope's close waits for its lock), and so
            // never unmaps the blocks under the frees.
            closed = true;
            heap.detach(this);
        }
    }

    /** @return the thread this scope is confined to, or null if it is shared */
    Thread owner() {
        return owner;
    }

    /** @return whether this scope is closed */
    boolean isClosed() {
        if (lock == null) {
            return closed;
        }
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    /** @return blocks this scope holds now: allocated and not yet freed by {@link #close()} */
    int blockCount() {
        return blockCount;
    }

    @Override
    public String toString() {
        return "HeapScope[heap=" + heap.name() + ", " + (owner == null ? "shared" : "confined")
                + (closed ? ", closed" : ", blocks=" + blockCount) + "]";
    }

    private void checkOwner() {
        if (Thread.currentThread() != owner) {
            throw wrongThread(owner);
        }
    }

    static void checkArguments(long byteSize, long byteAlignment) {
        if (byteSize < 0) {
            throw new IllegalArgumentException("byteSize must not be negative: byteSize=" + byteSize);
        }
        if (byteAlignment <= 0 || (byteAlignment & (byteAlignment - 1)) != 0) {
            throw new IllegalArgumentException(
                    "byteAlignment must be a positive power of two: byteAlignment=" + byteAlignment);
        }
    }

    static WrongThreadException wrongThread(Thread owner) {
        return new WrongThreadException("attempted access outside owner thread: owner=" + owner.getName()
                + ", caller=" + Thread.currentThread().getName());
    }

    private IllegalStateException closingElsewhere(Thread closer) {
        return new AlreadyClosedException(this, "already closed: this scope (its close() is under way on "
                + SanitizerReports.thread(closer) + ")");
    }

    private IllegalStateException alreadyClosed() {
        return new AlreadyClosedException(this, "already closed: this scope (by its close(), or its heap's)");
    }
}
