package org.malloc4j.internal;

import java.lang.foreign.Arena;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What checked mode knows about one block: where it is, its redzones, its own scope, and who
 * allocated and freed it. An aligned block may have a pad before its front redzone, never written;
 * one aligned past an OS page has neither.
 *
 * <pre>
 *  base                     address                 address + byteSize        base + span
 *   | (pad) | front redzone | the user's bytes        | back redzone (canaries)  |
 * </pre>
 */
final class BlockRecord {
    final long base;
    final long address;
    final long byteSize;
    /** Bytes from {@link #base} to the end of the back redzone. */
    final long span;
    /**
     * The block's own scope, made with its first segment: its segments die when it closes, at free.
     * Null while the block has no segment (a block of the raw API), and {@link #FREED_UNSEEN} once
     * such a block is freed. Closing a shared arena makes the JVM stop every thread for a
     * handshake, most of a checked pair's time (core README, "Checked mode's cost"), which a block nobody
     * made a segment of does without.
     */
    private volatile Arena arena;
    /** The scope of a block freed before any segment of it was made: closed, so none can be made. */
    private static final Arena FREED_UNSEEN = closedArena();
    private static final VarHandle ARENA;

    static {
        try {
            ARENA = MethodHandles.lookup().findVarHandle(BlockRecord.class, "arena", Arena.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    /** The allocating thread, as reports name it ({@link SanitizerReports#currentThread}). */
    final String allocThread;
    final StackTraceElement[] allocStack;
    /** The scope, arena or pool holding the block, or null when the heap API does. */
    volatile BlockHolder owner;
    /**
     * The holder that let go of the block to resize it through the heap (a growable array growing),
     * while it does: what a report of damage the resize finds names. Null otherwise.
     */
    volatile BlockHolder resizer;
    /**
     * Whether the block is in its heap's quarantine: set and cleared by {@link Quarantine}, read by
     * {@link FreedRecords}, which keeps the record for as long.
     */
    volatile boolean quarantined;
    /** Who freed the block, set by {@link #claimFree} before anyone can find the block freed. */
    private String freeThread;
    private StackTraceElement[] freeStack;

    /** Records the calling thread and its stack as the block's allocation. */
    BlockRecord(long base, long address, long byteSize, long span) {
        this(base, address, byteSize, span, StackDepot.capture());
    }

    /** @param allocStack where the block was allocated, innermost frame first */
    BlockRecord(long base, long address, long byteSize, long span, StackTraceElement[] allocStack) {
        this.base = base;
        this.address = address;
        this.byteSize = byteSize;
        this.span = span;
        this.allocThread = SanitizerReports.currentThread();
        this.allocStack = allocStack;
    }

    /**
     * Makes this class's {@code VarHandle} call once, on a record of no block, while the first heap
     * is made (see {@link RegionMap#linkVarHandleCalls}): a checked free of a block with no segment
     * runs it.
     */
    static void linkVarHandleCalls() {
        BlockRecord scratch = new BlockRecord(0, 0, 0, 0, new StackTraceElement[0]);
        boolean closed = ARENA.compareAndSet(scratch, null, FREED_UNSEEN);
    }

    private static Arena closedArena() {
        // Shared, so that a segment made in it from any thread fails as closed, not as confined.
        Arena arena = Arena.ofShared();
        arena.close();
        return arena;
    }

    /**
     * @return the block's scope for a segment of it, made now if it has none: a closed one once the
     *     block was freed (making a segment in it throws {@link IllegalStateException})
     */
    Arena arena() {
        Arena scope = arena;
        if (scope == null) {
            Arena fresh = Arena.ofShared();
            // A scope that loses the race holds no memory and was never handed out: the collector takes it.
            scope = ARENA.compareAndSet(this, null, fresh) ? fresh : arena;
        }
        return scope;
    }

    /**
     * Closes the block's scope, as its free or the heap's close does; a block with no segment gets
     * the closed one, so no segment of it can be made from now on.
     *
     * @param deadline until when ({@link System#nanoTime}) to wait while a downcall holds a segment
     * @return whether the scope is closed now (or was already, by a free racing a close, a misuse);
     *     false while a downcall holds a segment of it
     */
    boolean closeScope(long deadline) {
        if (arena == null && ARENA.compareAndSet(this, null, FREED_UNSEEN)) {
            return true;
        }
        Arena scope = arena;
        return HeldArenas.closeBy(scope, deadline) || !scope.scope().isAlive();
    }

    /**
     * @return the bytes of the front redzone: the last of those before the block, at most
     *     {@link CheckedAllocator#REDZONE}
     */
    long frontRedzone() {
        return Math.min(address - base, CheckedAllocator.REDZONE);
    }

    /** @return where the front redzone starts, in bytes from {@link #base} */
    long frontRedzoneStart() {
        return address - base - frontRedzone();
    }

    long backRedzone() {
        return span - (address - base) - byteSize;
    }

    /**
     * Records the calling thread and its stack as the block's free, unless another free did first:
     * a double free racing that one then reports it, never a free not yet recorded.
     *
     * @return whether this call is the block's free
     */
    boolean claimFree() {
        String thread = SanitizerReports.currentThread();
        StackTraceElement[] stack = StackDepot.capture();
        synchronized (this) {
            if (freeThread != null) {
                return false;
            }
            freeThread = thread;
            freeStack = stack;
            return true;
        }
    }

    /** Undoes {@link #claimFree} for a block that stays live after all. */
    synchronized void unclaimFree() {
        freeThread = null;
        freeStack = null;
    }

    synchronized String freeThread() {
        return freeThread;
    }

    synchronized StackTraceElement[] freeStack() {
        return freeStack;
    }
}
