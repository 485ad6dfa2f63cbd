package org.malloc4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.ref.Reference;
import java.time.Duration;
import java.util.Objects;
import org.malloc4j.internal.Allocator;
import org.malloc4j.internal.BlockHolder;
import org.malloc4j.internal.FaultPolicy;
import org.malloc4j.internal.HeapConfig;
import org.malloc4j.internal.HeapCore;
import org.malloc4j.internal.SanitizerReports;

/**
 * An allocator of native memory with per-block {@code free}: C's malloc family for Java.
 *
 * <h2>Blocks and segments</h2>
 * Every allocation is a <em>block</em>. The segment API returns it as a native
 * {@link MemorySegment} exactly {@code byteSize} long, so every Java access through it is
 * bounds-checked; its address is aligned to at least {@value #MIN_ALIGNMENT} bytes, and no two live
 * blocks overlap. The raw API ({@link #mallocAddress}, {@link #freeAddress},
 * {@link #reallocAddress}, {@link #usableSize(long)}) hands out bare addresses for hot loops that
 * must not allocate Java objects; accesses through raw addresses are not checked by anyone.
 *
 * <h2>Threads</h2>
 * A heap is thread-safe. A block may be freed or reallocated by any thread, not only the one that
 * allocated it. Each platform thread allocates from its own thread heap without synchronizing;
 * a free by another thread costs two atomic updates (claiming the block, then marking it for the
 * owner). Virtual threads share a small, fixed set of striped thread heaps, each taken under a lock
 * for one malloc or free (a free into a striped heap's page takes that lock too, from any thread),
 * so a million virtual threads cost no more metadata than a few. A virtual thread that keeps
 * allocating (a few thousand mallocs) gets a thread heap of its own, as a platform thread has, while
 * fewer virtual threads have one than there are stripes; it keeps it until it ends. When a
 * thread ends, its pages are adopted by other threads: nothing it freed or left live is lost.
 *
 * <h2>Exhaustion</h2>
 * When memory runs out the throwing members throw {@link HeapExhaustedError}, an
 * {@link OutOfMemoryError} as FFM's arenas throw; {@code catch (Exception e)} does not catch it,
 * so catch {@code HeapExhaustedError} where running out is expected, or use the {@code try*}
 * members, which return {@link MemorySegment#NULL} instead. A block larger than half a region
 * (16 MiB) gets a mapping of its own, which the OS counts against its commit limit as it counts
 * glibc's: one larger than the machine's memory and swap is refused, even though its pages would
 * only be made where touched (on Linux, under the default {@code vm.overcommit_memory} of 0). The
 * mapping is a multiple of 32 MiB, and one that {@code realloc} moves a growing block into holds
 * room for twice the new size, all of it counted. Under strict overcommit
 * ({@code vm.overcommit_memory} 2), where Linux counts every writable private mapping whole, that
 * rounding is charged (a block of 16 MiB + 1 B is charged 32 MiB, where glibc charges about its
 * size), and so is each 32 MiB region the heap reserves for its pages.
 *
 * <p>The heap keeps its books in Java objects, so a call may also meet a full <em>Java</em> heap:
 * an {@link OutOfMemoryError} that is not a {@code HeapExhaustedError}. The call throws it and
 * leaves the heap consistent, and usable once Java memory is back: a malloc, calloc or realloc
 * that throws it has allocated nothing (a realloc's block is live and unchanged), and a free that
 * has released its block does not throw it: what it would keep besides (an empty page for reuse,
 * a huge block's mapping, a checked block's record among the freed ones) it goes without, and its
 * memory goes back to the OS at once. A malloc, realloc or free that meets one leaves no later call
 * failing: the classes they need initialize with the first heap, and they use no lambda, whose
 * first linking, failed, would fail every later call (malloc4j-core's README, "When the Java heap
 * runs out", says how, and what is left).
 * Freeing an address that is not the start of a live block of this heap (a double free, an interior
 * pointer, foreign memory, a block of another heap) throws {@link MemoryMisuseException} in O(1),
 * before anything changes: the heap stays consistent. Sizes are checked too: negative sizes,
 * {@code count × size} overflow and alignments that are not powers of two throw
 * {@link IllegalArgumentException}. In a checked mode, a call that takes freed blocks out of
 * quarantine verifies them first, and throws {@link MemoryMisuseException} of kind
 * {@link MemoryMisuseException.Kind#USE_AFTER_FREE} if one was written after its free: a free or
 * realloc (as they say), {@link #trim()}, and an allocation that needs their memory under the
 * heap's {@linkplain Builder#maxCommittedBytes limit}. Such an allocation allocates nothing; the
 * blocks have left quarantine all the same, so the next allocation can have their memory. A write
 * that reached only a freed block's redzones is of kind
 * {@link MemoryMisuseException.Kind#HEAP_BUFFER_OVERFLOW}. Where a block has more than one damage,
 * the report of its first damaged byte is thrown and the others ride along as
 * {@linkplain Throwable#getSuppressed() suppressed}; the report also names the call that found it
 * and says what became of that call (a free that freed nothing, say).
 *
 * <h2>Edge cases, chosen as C leaves them open</h2>
 * <ul>
 *   <li>{@code malloc(0)} returns a unique, zero-length block that must be freed like any other.
 *   <li>{@code realloc(block, 0)} frees {@code block} and returns a new zero-length block, so a
 *       successful realloc never returns {@code NULL}, and {@code NULL} from {@link #tryRealloc}
 *       always means failure with the old block intact. At the heap's limit, where not even a
 *       zero-length block can be had, {@code block} itself becomes the zero-length block, holding
 *       its memory until it is freed: a realloc to 0 never fails for want of memory.
 *   <li>{@code realloc(NULL, n)} is {@code malloc(n)}; {@code free(NULL)} does nothing.
 * </ul>
 *
 * <h2>Memory from the operating system</h2>
 * Address space is reserved in 32 MiB regions (mapped with {@code MAP_NORESERVE}); 4 KiB pages
 * count as committed when a page's bump pointer first hands out a block in them. Pages left empty
 * are returned to the operating system ({@code madvise(MADV_DONTNEED)}) after the
 * {@linkplain Builder#purgeDelay(Duration) purge delay}, or at once by {@link #trim()}. Blocks of at
 * most 8 KiB come from 64 KiB pages, blocks up to 128 KiB from 512 KiB pages. Size classes are
 * 16 bytes apart up to 128 B (a block wastes at most 15 bytes), then four per doubling (a request
 * over 128 B wastes at most 20 % of its block), as in jemalloc and mimalloc. Larger blocks are runs of 64 KiB
 * slices; blocks over 16 MiB get their own mapping, kept for the purge delay once freed (at most
 * four a heap), for the next huge block of the same span, with the memory it committed.
 */
public final class Heap implements SegmentAllocator, AutoCloseable {
    /** The least alignment of every block, in bytes. */
    public static final long MIN_ALIGNMENT = 16;
    /**
     * The largest block any heap hands out, in bytes: 2<sup>46</sup> (64 TiB), as no mapping larger
     * can exist in a 47-bit user address space. A larger request, or a larger alignment, can never be
     * served, and fails as exhaustion does: {@link HeapExhaustedError}, or {@link MemorySegment#NULL}
     * from the {@code try*} members. Settings that fix the size of every block taken later, such as
     * {@link BumpArena#ofConfined(Heap, long)}'s chunk size, are checked against it when they are made.
     */
    public static final long MAX_BLOCK_BYTE_SIZE = 1L << 46;
    /** How many frees {@link #releaseOwned} tries: one that reports damage, one that frees, and a spare. */
    private static final int RELEASE_ATTEMPTS = 3;

    private static volatile Heap globalHeap;

    private static final class GlobalHolder {
        private GlobalHolder() {
        }

        static synchronized Heap get() {
            if (globalHeap == null) {
                globalHeap = createGlobal();
            }
            return globalHeap;
        }

        private static Heap createGlobal() {
            Heap heap = new Heap(Allocator.create(HeapConfig.global()), true);
            if (HeapConfig.leakReportAtExit()) {
                Thread report = new Thread(() -> {
                    LeakReport leaks = heap.leaks();
                    if (!leaks.isEmpty()) {
                        System.err.println(leaks.text());
                    }
                }, "malloc4j-leak-report");
                try {
                    Runtime.getRuntime().addShutdownHook(report);
                } catch (IllegalStateException shutdownInProgress) {
                    // First used by a shutdown hook: the JVM is exiting, and takes no more hooks.
                    // The heap serves all the same, with no report at exit.
                }
            }
            return heap;
        }
    }

    private final Allocator core;
    /** Where malloc, free and their segments go: {@link #core}, or in sampled mode its fast core. */
    private final Allocator hot;
    private final boolean global;
    /** Scopes, bump arenas and pools drawing from this heap: closed before it unmaps. Empty for the global heap. */
    private final java.util.Set<AutoCloseable> dependents = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /**
     * Orders {@link #attach} against {@link #close()} taking its list of {@link #dependents}: a
     * dependent either makes that list, and is closed before the heap unmaps, or is refused.
     */
    private final Object dependentsLock = new Object();
    /**
     * The threads in a {@link #close()} call between taking its list of dependents and returning,
     * once per call; guarded by {@link #dependentsLock}.
     */
    private final java.util.List<Thread> closingThreads = new java.util.ArrayList<>();
    /**
     * The thread on which a cleanup action asked for this heap's close, until the outermost close
     * under way there returns and carries it out ({@link ClosesUnderWay}); else null.
     */
    private volatile Thread closeDeferredTo;

    private Heap(Allocator core, boolean global) {
        this.core = core;
        this.hot = core.fastPath();
        this.global = global;
    }

    /**
     * The process-wide heap, named {@code "global"}, made on first use and never closed; any thread
     * may call this. Its settings come from system properties read once:
     * {@code malloc4j.purgeDelayMillis} (milliseconds, 0 or more; default 250), {@code malloc4j.check}
     * ({@code fast}, {@code sampled} or {@code full}; see {@link CheckMode}),
     * {@code malloc4j.sampleInterval} (1 to {@link Integer#MAX_VALUE}; default 50,000),
     * {@code malloc4j.quarantineBytes} (bytes, 0 or more; default 20 MiB), and
     * {@code malloc4j.leakReportAtExit} ({@code true} prints a leak report to standard
     * error when the JVM exits, in a checked mode; {@code false}, the default, does not; a heap
     * first used by a shutdown hook, once the JVM is exiting, serves without the report).
     *
     * @return the process-wide heap
     * @throws UnsupportedOperationException if this platform is not supported (malloc4j runs on
     *     Linux on x86-64 and AArch64)
     * @throws IllegalCallerException if the JVM denies native access to malloc4j's module
     *     ({@code --illegal-native-access=deny} without {@code --enable-native-access} naming it:
     *     {@code org.malloc4j} on the module path, {@code ALL-UNNAMED} on the class path); the
     *     message says which option allows it
     * @throws IllegalArgumentException if one of those properties is set to a value it cannot take;
     *     the message names it. No heap is made then, and the next call reads the properties again
     */
    public static Heap global() {
        Heap heap = globalHeap;
        return heap != null ? heap : GlobalHolder.get();
    }

    /** @return a builder for a heap of its own, which {@link #close()} releases all at once */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Allocates a block of {@code byteSize} bytes. Its contents are unspecified.
     *
     * @param byteSize the size in bytes, 0 or more
     * @return a native segment of exactly {@code byteSize} bytes, aligned to at least
     *     {@value #MIN_ALIGNMENT} bytes, overlapping no other live block
     * @throws IllegalArgumentException if {@code byteSize < 0}
     * @throws HeapExhaustedError if the operating system or the heap's limit refuses the memory,
     *     {@code byteSize} is more than {@link #MAX_BLOCK_BYTE_SIZE}, or the heap's
     *     {@link FaultInjection} fails the request
     * @throws MemoryMisuseException in a checked mode, if a block this call takes out of quarantine
     *     was written after its free (see Misuse above); nothing is allocated then
     * @throws IllegalStateException if this heap is closed
     */
    public MemorySegment malloc(long byteSize) {
        return hot.mallocSegment(byteSize);
    }

    /**
     * Like {@link #malloc(long)}, but returns {@link MemorySegment#NULL} where {@code malloc} would
     * throw {@link HeapExhaustedError}.
     *
     * @param byteSize the size in bytes, 0 or more
     * @return the block, or {@link MemorySegment#NULL} if memory is exhausted
     * @throws IllegalArgumentException if {@code byteSize < 0}
     * @throws MemoryMisuseException in a checked mode, if a block this call takes out of quarantine
     *     was written after its free (see Misuse above); nothing is allocated then
     * @throws IllegalStateException if this heap is closed
     */
    public MemorySegment tryMalloc(long byteSize) {
        long address = hot.malloc(byteSize, false);
        return address == 0 ? MemorySegment.NULL : hot.newSegment(address, byteSize);
    }

    /**
     * Allocates a zero-filled block for {@code count} elements of {@code byteSize} bytes each.
     *
     * @param count the number of elements, 0 or more
     * @param byteSize the size of one element in bytes, 0 or more
     * @return a zero-filled native segment of exactly {@code count * byteSize} bytes
     * @throws IllegalArgumentException if either argument is negative or {@code count * byteSize}
     *     overflows a {@code long}
     * @throws HeapExhaustedError if the operating system or the heap's limit refuses the memory,
     *     {@code count * byteSize} is more than {@link #MAX_BLOCK_BYTE_SIZE}, or the heap's
     *     {@link FaultInjection} fails the request
     * @throws MemoryMisuseException in a checked mode, if a block this call takes out of quarantine
     *     was written after its free (see Misuse above); nothing is allocated then
     * @throws IllegalStateException if this heap is closed
     */
    public MemorySegment calloc(long count, long byteSize) {
        long total = HeapCore.checkedProduct(count, byteSize);
        return core.newSegment(core.calloc(total, true), total);
    }

    /**
     * Like {@link #calloc(long, long)}, but returns {@link MemorySegment#NULL} where {@code calloc}
     * would throw {@link HeapExhaustedError}.
     *
     * @param count the number of elements, 0 or more
     * @param byteSize the size of one element in bytes, 0 or more
     * @return the zero-filled block, or {@link MemorySegment#NULL} if memory is exhausted
     * @throws IllegalArgumentException if either argument is negative or the product overflows
     * @throws MemoryMisuseException in a checked mode, if a block this call takes out of quarantine
     *     was written after its free (see Misuse above); nothing is allocated then
     * @throws IllegalStateException if this heap is closed
     */
    public MemorySegment tryCalloc(long count, long byteSize) {
        long total = HeapCore.checkedProduct(count, byteSize);
        long address = core.calloc(total, false);
        return address == 0 ? MemorySegment.NULL : core.newSegment(address, total);
    }

    /**
     * Resizes a block, in place when its usable size or the free space after a large block allows
     * (a block of {@link CheckMode#FULL}, or one {@link CheckMode#SAMPLED} checks, always moves,
     * but for the shrink at the heap's limit below), otherwise by moving it: the first
     * {@code min(old size, newByteSize)} bytes are kept. After a
     * move the old block is freed and its segment must no longer be used. A block that grows past
     * 32 KiB becomes a large block (its usable size is then a multiple of 4 KiB) with address space
     * after it to grow into, so a buffer grown by doubling is copied only while it is small
     * (jemalloc grows its large extents in place the same way). A block of a size class shrunk
     * below half its usable size moves to a smaller one, so memory is not held for nothing. But a
     * block that is the only one in its page, at the page's start, resized by the thread that owns
     * the page to at most 32 KiB in another class of the same page size (both classes at most 8 KiB,
     * or both above), may keep its address when that thread has no page of the new class with room:
     * its page is then laid out again for the new class, and nothing is copied. A large
     * block shrunk to more than 32 KiB stays where it is, and once it holds more than twice its new
     * usable size, gives the memory past that size back to the OS (jemalloc shrinks its large
     * extents in place too). When the heap has no memory left for a smaller block, the block stays
     * where it is instead (a checked block's old segments die all the same), so a resize to at most
     * the usable size never fails for want of memory. The result is aligned to
     * {@value #MIN_ALIGNMENT} bytes: like C's {@code realloc}, a moving resize does not keep a
     * larger alignment asked of {@link #mallocAligned}.
     *
     * @param block a live block of this heap, or {@link MemorySegment#NULL} to allocate
     * @param newByteSize the new size in bytes, 0 or more (0: see the class documentation)
     * @return the resized block, exactly {@code newByteSize} bytes long
     * @throws IllegalArgumentException if {@code newByteSize < 0}
     * @throws MemoryMisuseException if {@code block} is not a live block of this heap
     *     ({@link MemoryMisuseException.Kind#DOUBLE_FREE} or
     *     {@link MemoryMisuseException.Kind#BAD_FREE}, and {@code DOUBLE_FREE} for a segment whose
     *     scope is closed, as {@link #free} says), or a scope, bump arena, pool or growable array holds it
     *     or the block it lies in (a pool's block, an arena's slice)
     *     ({@link MemoryMisuseException.Kind#ALLOC_DEALLOC_MISMATCH}); in a checked mode also when
     *     its redzones were overwritten
     *     ({@link MemoryMisuseException.Kind#HEAP_BUFFER_OVERFLOW}, reported once), or a block the
     *     realloc pushes out of quarantine was written after its free
     *     ({@link MemoryMisuseException.Kind#USE_AFTER_FREE}); the block is then unchanged
     * @throws HeapExhaustedError if the block must grow past its usable size and memory is
     *     exhausted (never when {@code newByteSize} is at most the usable size, 0 included), or the
     *     heap's {@link FaultInjection} fails the request (it counts every realloc to a non-zero
     *     size, whether or not the block would move); the old block is then still live and
     *     unchanged
     * @throws IllegalStateException if this heap is closed, or if a downcall is using the block and
     *     it must move, or is a checked block (whose old segments every resize ends), as
     *     {@link #free} says; the old block then stays live and unchanged
     * @throws NullPointerException if {@code block} is null (use {@link MemorySegment#NULL} for none)
     */
    public MemorySegment realloc(MemorySegment block, long newByteSize) {
        Objects.requireNonNull(block, "block");
        requireNative(block, "realloc");
        requireAlive(block, "realloc");
        MemorySegment resized = core.reallocSegment(block.address(), newByteSize, true);
        keepUntilFreed(block);
        return resized;
    }

    /**
     * Like {@link #realloc}, but returns {@link MemorySegment#NULL} where {@code realloc} would throw
     * {@link HeapExhaustedError} (memory exhausted while the block must grow past its usable size,
     * or a failure from the heap's {@link FaultInjection}); the old block then stays live and
     * unchanged, as in C.
     *
     * @param block a live block of this heap, or {@link MemorySegment#NULL} to allocate
     * @param newByteSize the new size in bytes, 0 or more
     * @return the resized block, or {@link MemorySegment#NULL} if memory is exhausted
     * @throws IllegalArgumentException if {@code newByteSize < 0}
     * @throws MemoryMisuseException if {@code block} is not a live block of this heap
     *     ({@link MemoryMisuseException.Kind#DOUBLE_FREE} or
     *     {@link MemoryMisuseException.Kind#BAD_FREE}, and {@code DOUBLE_FREE} for a segment whose
     *     scope is closed, as {@link #free} says), or a scope, bump arena, pool or growable array holds it
     *     or the block it lies in (a pool's block, an arena's slice)
     *     ({@link MemoryMisuseException.Kind#ALLOC_DEALLOC_MISMATCH}); in a checked mode also when
     *     its redzones were overwritten
     *     ({@link MemoryMisuseException.Kind#HEAP_BUFFER_OVERFLOW}, reported once), or a block the
     *     realloc pushes out of quarantine was written after its free
     *     ({@link MemoryMisuseException.Kind#USE_AFTER_FREE}); the block is then unchanged
     * @throws IllegalStateException if this heap is closed, or if a downcall is using the block and
     *     it must move, or is a checked block (whose old segments every resize ends), as
     *     {@link #free} says; the old block then stays live and unchanged
     * @throws NullPointerException if {@code block} is null (use {@link MemorySegment#NULL} for none)
     */
    public MemorySegment tryRealloc(MemorySegment block, long newByteSize) {
        Objects.requireNonNull(block, "block");
        requireNative(block, "tryRealloc");
        requireAlive(block, "realloc");
        MemorySegment resized = core.reallocSegment(block.address(), newByteSize, false);
        keepUntilFreed(block);
        return resized;
    }

    /**
     * Frees a block. Its memory may be handed out again at once; the segment must not be used after.
     *
     * @param block a live block of this heap, or {@link MemorySegment#NULL} (then nothing happens,
     *     whatever the heap's state, as with C's {@code free(NULL)}). Its address names the block, as
     *     a pointer does in C: a slice of the block that starts at its first byte frees the whole
     *     block. Its scope must be alive
     * @throws MemoryMisuseException if {@code block} is not the start of a live block of this heap
     *     (kind {@link MemoryMisuseException.Kind#DOUBLE_FREE} or
     *     {@link MemoryMisuseException.Kind#BAD_FREE}); if its scope is closed
     *     ({@link MemoryMisuseException.Kind#DOUBLE_FREE}: its block was freed, or the scope, arena
     *     or heap that made it closed, and a block handed out at its address since stays live); if a
     *     scope, bump arena, pool or growable array holds it or the block it lies in (a pool's block,
     *     an arena's slice)
     *     ({@link MemoryMisuseException.Kind#ALLOC_DEALLOC_MISMATCH}); nothing changes. In a checked
     *     mode also when the block's redzones were overwritten
     *     ({@link MemoryMisuseException.Kind#HEAP_BUFFER_OVERFLOW}), or when a block this free pushes
     *     out of quarantine was written after its free
     *     ({@link MemoryMisuseException.Kind#USE_AFTER_FREE}); this block is then not freed yet,
     *     and each damage is reported once, so freeing it again succeeds
     * @throws IllegalStateException if this heap is closed, or if a downcall is using the block
     *     and the heap can tell: a huge block (over 16 MiB, in a mapping of its own), or any block
     *     a checked mode recorded. The block then stays live, and a free after the downcall
     *     returns succeeds; other blocks are freed, so the downcall must not use them any more
     * @throws NullPointerException if {@code block} is null (use {@link MemorySegment#NULL} for none)
     */
    public void free(MemorySegment block) {
        Objects.requireNonNull(block, "block");
        requireNative(block, "free");
        requireAlive(block, "free");
        hot.free(block.address());
        keepUntilFreed(block);
    }

    /**
     * Keeps {@code block} reachable until the call that frees it has marked it freed. A checked
     * block's segment is watched for becoming unreachable while its block is live (a leak): if the
     * collector found it so between reading its address and the free, a block being freed would be
     * reported as leaked. Free in fast mode: the fence only extends a local's liveness, which does
     * not stop the JIT from eliding the segment.
     */
    private static void keepUntilFreed(MemorySegment block) {
        Reference.reachabilityFence(block);
    }

    /**
     * Allocates a block whose address is a multiple of {@code byteAlignment}.
     *
     * @param byteSize the size in bytes, 0 or more
     * @param byteAlignment a power of two; values below {@value #MIN_ALIGNMENT} give
     *     {@value #MIN_ALIGNMENT}
     * @return a native segment of exactly {@code byteSize} bytes whose address is a multiple of
     *     {@code byteAlignment}; free it with {@link #free} as any other block
     * @throws IllegalArgumentException if {@code byteSize < 0} or {@code byteAlignment} is not a
     *     positive power of two
     * @throws HeapExhaustedError if the operating system or the heap's limit refuses the memory,
     *     {@code byteSize} or {@code byteAlignment} is more than {@link #MAX_BLOCK_BYTE_SIZE}, or
     *     the heap's {@link FaultInjection} fails the request
     * @throws MemoryMisuseException in a checked mode, if a block this call takes out of quarantine
     *     was written after its free (see Misuse above); nothing is allocated then
     * @throws IllegalStateException if this heap is closed
     */
    public MemorySegment mallocAligned(long byteSize, long byteAlignment) {
        if (byteAlignment > 0 && byteAlignment <= MIN_ALIGNMENT && (byteAlignment & (byteAlignment - 1)) == 0) {
            // Every block has this alignment: malloc's path, whose segment the JIT can elide.
            return malloc(byteSize);
        }
        return core.newSegment(core.mallocAligned(byteSize, byteAlignment, true), byteSize);
    }

    /**
     * {@link SegmentAllocator}'s entry point: the same as {@link #mallocAligned}. Every
     * {@code allocate(layout)}, {@code allocate(layout, count)} and {@code allocateFrom} of
     * {@link SegmentAllocator} comes here, so FFM code can size blocks from a
     * {@link java.lang.foreign.MemoryLayout} ({@code malloc(n * sizeof *p)} in C). Free the result
     * with {@link #free}.
     *
     * @param byteSize the size in bytes, 0 or more
     * @param byteAlignment a positive power of two
     * @return a native segment of exactly {@code byteSize} bytes aligned to {@code byteAlignment}
     * @throws IllegalArgumentException if {@code byteSize < 0} or {@code byteAlignment} is not a
     *     positive power of two
     * @throws HeapExhaustedError if the operating system or the heap's limit refuses the memory,
     *     {@code byteSize} or {@code byteAlignment} is more than {@link #MAX_BLOCK_BYTE_SIZE}, or
     *     the heap's {@link FaultInjection} fails the request
     * @throws MemoryMisuseException in a checked mode, if a block this call takes out of quarantine
     *     was written after its free (see Misuse above); nothing is allocated then
     * @throws IllegalStateException if this heap is closed
     */
    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        return mallocAligned(byteSize, byteAlignment);
    }

    /**
     * The number of bytes the block really has, at least its requested size. Bytes past the
     * requested size are only reachable through a raw address or a reinterpreted segment.
     *
     * @param block a live block of this heap
     * @return the block's usable size in bytes
     * @throws MemoryMisuseException if {@code block} is not a live block of this heap: of kind
     *     {@link MemoryMisuseException.Kind#USE_AFTER_FREE} for a block this heap freed (and has not
     *     handed out again) or a segment whose scope is closed (as {@link #free} says),
     *     {@link MemoryMisuseException.Kind#BAD_FREE} for an address no block of this heap starts at
     *     (inside a block, another heap's block, memory never handed out), and
     *     {@link MemoryMisuseException.Kind#ALLOC_DEALLOC_MISMATCH} for a block a scope, bump arena,
     *     pool or growable array holds, or memory inside one (a pool's block, an arena's slice):
     *     what it hands out there, and how large, is the holder's to say
     * @throws IllegalStateException if this heap is closed
     * @throws NullPointerException if {@code block} is null
     */
    public long usableSize(MemorySegment block) {
        Objects.requireNonNull(block, "block");
        requireNative(block, "usableSize");
        requireAlive(block, "usableSize");
        return core.usableSize(block.address());
    }

    /**
     * The usable size a block of {@code byteSize} bytes would get from {@link #malloc}: the size
     * class it rounds up to (blocks up to 128 KiB) or the next multiple of 4 KiB (larger blocks).
     * Requests of exactly this size waste nothing. ({@link #mallocAligned} may round further, to a
     * class whose blocks are all aligned; a block that {@link #realloc} grew past 32 KiB has a
     * multiple of 4 KiB.) A request above 64 TiB, which no heap can satisfy, is returned as it is.
     * In {@link CheckMode#FULL} mode every block's usable size is exactly its request (the bytes
     * past it are redzone), so this returns {@code byteSize}; in {@link CheckMode#SAMPLED} mode it is
     * the unsampled blocks' size, a sampled block's being exactly its request.
     *
     * @param byteSize a request size in bytes, 0 or more
     * @return the usable size in bytes that {@code malloc(byteSize)} gives
     * @throws IllegalArgumentException if {@code byteSize < 0}
     */
    public long goodSize(long byteSize) {
        long good = HeapCore.goodSize(byteSize);
        return core.checkMode() == CheckMode.FULL ? byteSize : good;
    }

    /**
     * The raw form of {@link #malloc}: allocates and returns the block's address.
     *
     * @param byteSize the size in bytes, 0 or more
     * @return the address of a block of at least {@code byteSize} bytes, aligned to at least
     *     {@value #MIN_ALIGNMENT} bytes; never 0
     * @throws IllegalArgumentException if {@code byteSize < 0}
     * @throws HeapExhaustedError if the operating system or the heap's limit refuses the memory,
     *     {@code byteSize} is more than {@link #MAX_BLOCK_BYTE_SIZE}, or the heap's
     *     {@link FaultInjection} fails the request
     * @throws MemoryMisuseException in a checked mode, if a block this call takes out of quarantine
     *     was written after its free (see Misuse above); nothing is allocated then
     * @throws IllegalStateException if this heap is closed
     */
    public long mallocAddress(long byteSize) {
        return hot.malloc(byteSize, true);
    }

    /**
     * The raw form of {@link #calloc}: a zero-filled block for {@code count} elements of
     * {@code byteSize} bytes.
     *
     * @param count the number of elements, 0 or more
     * @param byteSize the size of one element in bytes, 0 or more
     * @return the address of a zero-filled block of at least {@code count * byteSize} bytes; never 0
     * @throws IllegalArgumentException if either argument is negative or the product overflows
     * @throws HeapExhaustedError if the operating system or the heap's limit refuses the memory,
     *     {@code count * byteSize} is more than {@link #MAX_BLOCK_BYTE_SIZE}, or the heap's
     *     {@link FaultInjection} fails the request
     * @throws MemoryMisuseException in a checked mode, if a block this call takes out of quarantine
     *     was written after its free (see Misuse above); nothing is allocated then
     * @throws IllegalStateException if this heap is closed
     */
    public long callocAddress(long count, long byteSize) {
        return core.calloc(HeapCore.checkedProduct(count, byteSize), true);
    }

    /**
     * The raw form of {@link #mallocAligned}.
     *
     * @param byteSize the size in bytes, 0 or more
     * @param byteAlignment a positive power of two
     * @return the address of a block of at least {@code byteSize} bytes, a multiple of
     *     {@code byteAlignment} (and of {@value #MIN_ALIGNMENT}); never 0
     * @throws IllegalArgumentException if {@code byteSize < 0} or {@code byteAlignment} is not a
     *     positive power of two
     * @throws HeapExhaustedError if the operating system or the heap's limit refuses the memory,
     *     {@code byteSize} or {@code byteAlignment} is more than {@link #MAX_BLOCK_BYTE_SIZE}, or
     *     the heap's {@link FaultInjection} fails the request
     * @throws MemoryMisuseException in a checked mode, if a block this call takes out of quarantine
     *     was written after its free (see Misuse above); nothing is allocated then
     * @throws IllegalStateException if this heap is closed
     */
    public long mallocAlignedAddress(long byteSize, long byteAlignment) {
        return core.mallocAligned(byteSize, byteAlignment, true);
    }

    /**
     * For a holder that asks for room to grow first and can do with less (a bump arena's side
     * block, a growable array's growth step), once this heap refused the request with room: returns
     * if it was refused for want of memory, so the holder asks again for less. A failure the fault
     * policy injected is not asked again: the policy would count a second request, and one it lets
     * through would hide from the program the failure its one call was dealt ({@code firstN(1)}
     * would never fail it). It is thrown as the policy fails a request of {@code neededBytes}.
     * Only a policy that judges by size (a budget of bytes) is asked again, as a limit would be.
     *
     * @throws HeapExhaustedError naming {@code neededBytes}, if {@code refused} was injected
     */
    void askAgainUnlessInjected(HeapExhaustedError refused, long neededBytes, long byteAlignment) {
        if (!refused.injected()) {
            return;
        }
        FaultPolicy faults = core.faults();
        if (faults != null && faults.judgesBySize()) {
            // A budget of bytes the larger request would pass may still hold the smaller one: asked
            // again, as a limit is, and the failure the program never sees is not counted.
            faults.unseen();
            return;
        }
        throw FaultPolicy.injectedFailure(name(), neededBytes, byteAlignment);
    }

    /**
     * The raw form of {@link #free}.
     *
     * @param address the address of a live block of this heap, or 0 (then nothing happens, whatever
     *     the heap's state, as with C's {@code free(NULL)})
     * @throws MemoryMisuseException if {@code address} is not the start of a live block of this heap,
     *     or a scope, bump arena, pool or growable array holds it, or in a checked mode its redzones
     *     were overwritten or a block this free pushes out of quarantine was written after its free,
     *     as {@link #free} says
     * @throws IllegalStateException if this heap is closed (and {@code address} is not 0), or if a
     *     downcall is using the block, as {@link #free} says; the block then stays live
     */
    public void freeAddress(long address) {
        hot.free(address);
    }

    /**
     * The raw form of {@link #realloc}.
     *
     * @param address the address of a live block of this heap, or 0 to allocate
     * @param newByteSize the new size in bytes, 0 or more
     * @return the address of the resized block; the old address must not be used if it differs
     * @throws IllegalArgumentException if {@code newByteSize < 0}
     * @throws MemoryMisuseException as {@link #realloc} says
     * @throws HeapExhaustedError if the block must grow past its usable size and memory is
     *     exhausted (never when {@code newByteSize} is at most the usable size, 0 included), or the
     *     heap's {@link FaultInjection} fails the request (it counts every realloc to a non-zero
     *     size, whether or not the block would move); the old block is then still live and
     *     unchanged
     * @throws IllegalStateException if this heap is closed, or if a downcall is using the block and
     *     it must move, or is a checked block (whose old segments every resize ends), as
     *     {@link #free} says; the old block then stays live and unchanged
     */
    public long reallocAddress(long address, long newByteSize) {
        return core.realloc(address, newByteSize, true);
    }

    /**
     * The raw form of {@link #usableSize(MemorySegment)}.
     *
     * @param address the address of a live block of this heap
     * @return the block's usable size in bytes
     * @throws MemoryMisuseException if {@code address} is not a live block of this heap: of kind
     *     {@link MemoryMisuseException.Kind#USE_AFTER_FREE} for a block this heap freed (and has not
     *     handed out again), {@link MemoryMisuseException.Kind#BAD_FREE} for an address no block of
     *     this heap starts at (inside a block, another heap's block, memory never handed out), and
     *     {@link MemoryMisuseException.Kind#ALLOC_DEALLOC_MISMATCH} for a block a scope, bump arena,
     *     pool or growable array holds, or memory inside one (a pool's block, an arena's slice):
     *     what it hands out there, and how large, is the holder's to say
     * @throws IllegalStateException if this heap is closed
     */
    public long usableSize(long address) {
        return core.usableSize(address);
    }

    /**
     * Describes what {@code address} is in this heap, for a person to read, as AddressSanitizer's
     * {@code __asan_describe_address} does (its {@code sanitizer/asan_interface.h}): the block
     * whose memory holds it and where in that block (in bytes: inside it, or to its left or right,
     * in a redzone), whether the block is live, freed or was never handed out, what holds it (a
     * scope, bump arena, pool or growable array; in {@link CheckMode#FULL} mode a pool's own block
     * there too), and, for a block checked mode records ({@code FULL}; one block in the sampling
     * interval in {@link CheckMode#SAMPLED}), the stacks that allocated and freed it. Without
     * records the description is told from the heap's pages: the block of the address's size
     * class, and its requested bytes if it is live.
     *
     * <p>In {@code FULL} mode a freed block is remembered for the last 65,536 frees (a later free
     * of a block at the same address replaces it); memory of it that another block took meanwhile
     * is described as that live block first, then as the freed one. An address in no block it
     * remembers is told against the live blocks beside it. Memory the heap no longer maps (a freed
     * huge block's, once its mapping goes) may hold anything since, another heap's blocks or a
     * native library's mapping: the description says what the heap knows, not what is there now.
     *
     * <p>Use it where a report cannot be made for you: after an access through a freed block's
     * segment threw the JDK's bare {@link IllegalStateException} ("Already closed"), pass the
     * segment to {@link #describe(MemorySegment)} (a closed segment still has its address); or
     * with an address a native library returned, to see which block, if any, it points into. Any
     * address may be passed: none is a misuse, and the call changes nothing.
     *
     * <p>Thread-safe. While other threads allocate and free, the description is of one moment
     * during the call, which may have passed when it returns: an address described as a free block
     * may hold a live one by then. It is meant for diagnosis, not for a hot path: a call builds
     * text, and in a checked mode looks the address up among the live blocks and the remembered
     * freed ones (kept in address order, so the 65,536 of them are not read one by one).
     *
     * @param address any address
     * @return the description: a first line {@code 0x<address in hex>: <what it is>}, then one or
     *     more lines, each ending with a line break
     * @throws IllegalStateException if this heap is closed
     */
    public String describe(long address) {
        return core.describe(address);
    }

    /**
     * {@link #describe(long)} of the segment's first byte: any segment, a closed one too, or one a
     * scope, arena or pool handed out. A segment of the Java heap is described as such. Of a
     * segment whose scope is closed the description says so last: its block was freed, or the
     * scope, arena or heap that made it closed, and the memory may hold another block since.
     *
     * @param segment any segment
     * @return the description, as {@link #describe(long)} gives it
     * @throws IllegalStateException if this heap is closed
     * @throws NullPointerException if {@code segment} is null
     */
    public String describe(MemorySegment segment) {
        Objects.requireNonNull(segment, "segment");
        if (!segment.isNative()) {
            if (isClosed()) {
                throw new IllegalStateException("heap '" + name() + "' is closed");
            }
            return "0x" + Long.toHexString(segment.address()) + ": a segment of the Java heap, not off-heap memory\n"
                    + segment + " is no heap's block\n";
        }
        String description = core.describe(segment.address());
        return segment.scope().isAlive() ? description : description + "this segment's scope is closed: the block it"
                + " was made for was freed, or the scope, arena or heap that made it closed\n";
    }

    /**
     * A snapshot of this heap's counters; see {@link HeapStats} for what each means and how exact
     * it is while other threads work. Thread-safe.
     *
     * <p>The usable and requested bytes of blocks up to the medium size classes are summed from the
     * heap's block tables when asked, not counted on every malloc and free (which cost 11-17 % of
     * a malloc+free pair: {@code PairBenchmark.malloc4jRaw}, 64 B and mixed sizes). So a call reads
     * one table entry (1-4 bytes) per block the heap's pages have handed out: its time grows with
     * the number of such blocks (0.30 ms for 4,000,000 blocks of 64 B, {@code StatsBenchmark}; 3.4
     * ms for 1 GiB of them, 16.7 million, the best of 30 calls; on a 2-core machine), and it holds
     * no lock meanwhile, so it does not stop the heap's other threads. To watch the footprint
     * often, {@link #footprintBytes()} reads no block table.
     *
     * @return the counters now
     */
    public HeapStats stats() {
        return core.stats();
    }

    /**
     * This heap's footprint in bytes: {@link #stats()}'s {@link HeapStats#committedBytes()} plus its
     * {@link HeapStats#metadataBytes()}, without summing the live blocks, so cheap enough to read
     * after every allocation (as {@code malloc4j replay} does to find a trace's peak footprint).
     * Thread-safe; while other threads work, as exact as {@link HeapStats} says. The purger returns
     * memory and forgets ended threads' heaps on a thread of its own, so a read right after
     * {@link #stats()} may differ from that snapshot's sum even when no call is in progress. A
     * closed heap's committed bytes are 0, or what memory a downcall kept mapped commits (see
     * {@link #close()}), while its metadata estimate keeps its last value, as {@link HeapStats}'s
     * other counts do: so a closed heap's footprint is not 0, but that estimate.
     *
     * @return the committed bytes plus the metadata estimate, in bytes
     */
    public long footprintBytes() {
        return core.footprintBytes();
    }

    /**
     * Returns the memory of empty pages to the operating system now instead of after the purge
     * delay, collects the blocks other threads freed into the calling thread's pages, and hands the
     * pages of threads that ended to the heap. The empty pages are the calling thread's, the
     * virtual threads' shared heaps', ended threads' and those waiting in the heap's pool. A large
     * or huge block (over 128 KiB) gives back the memory it holds past its usable size (after
     * {@link #realloc} shrank it in place, for growing again; or from a reused span). In the pages
     * of the calling thread, of the heaps virtual threads share, of every other live platform
     * thread, and those ended threads left in use, every OS page that only free blocks overlap goes
     * back, whichever thread freed them (the purger does the same for a thread, or a shared heap,
     * not allocated from for the purge delay). The pages each other live platform thread allocates
     * from now, one per size class it used, go back the same way if the thread is waiting, sleeping
     * or blocked at the call (a pooled worker between tasks), and the thread takes the slow path the
     * next time it allocates from one. A thread that is running keeps them, because its allocations
     * take their free blocks without synchronizing (so does every thread where the OS offers no
     * process-wide memory barrier, Linux's {@code membarrier}, which this needs):
     * <ul>
     * <li>their free memory that it freed itself, until it scavenges them (as its commits near the
     *     footprint's peak, or calls {@code trim()} itself), moves on to another page or ends: at
     *     most 64 KiB per small size class and 512 KiB per medium one;
     * <li>among them its spare pages, until it allocates again or ends: one empty page per small
     *     size class it used, and its three latest medium pages.
     * </ul>
     * Of those pages, only the memory of blocks other threads freed goes back.
     *
     * @throws MemoryMisuseException in a checked mode, if a block this call takes out of quarantine
     *     was written after its free (see Misuse above), once the quarantine is emptied and the rest of the trim done
     * @throws IllegalStateException if this heap is closed
     */
    public void trim() {
        core.trim();
    }

    /**
     * Verifies what this heap's mode can verify. In a checked mode: every live block's redzones
     * (a changed byte is an overflow or underflow through a raw address) and every quarantined
     * block's poison (a changed byte is a write after free); in {@link CheckMode#FULL} also the
     * redzones of every block a {@link FixedSizePool} of this heap has handed out, live or freed,
     * and the poison of the freed ones (under the pool's lock, if it has one), with what the pools
     * found when they took freed slots again. Each damage is reported once: the
     * report puts the canaries or the poison back, so a later write into the same block is a new
     * report. In every mode: that the counters agree. Call it when no other thread is allocating
     * or freeing: a block freed or reallocated under it may be reported though nothing was wrong,
     * and the canaries or poison that report puts back may then land in memory another block has
     * taken since.
     *
     * @throws MemoryMisuseException of kind {@link MemoryMisuseException.Kind#HEAP_BUFFER_OVERFLOW}
     *     or {@link MemoryMisuseException.Kind#USE_AFTER_FREE} with a report naming the block and
     *     where it was allocated (and freed): the report of the live block with the lowest address
     *     (else of the quarantined block freed first), with every other damage found by this call,
     *     live blocks' first, in its {@link Throwable#getSuppressed()}
     * @throws IllegalStateException if the counters disagree, or this heap is closed (also when
     *     another thread closes it during the call)
     */
    public void check() {
        core.check();
    }

    /**
     * The blocks live now, grouped by allocation site (LeakSanitizer's report). Only checked modes
     * record sites: in {@link CheckMode#FAST} mode the report is empty, and in
     * {@link CheckMode#SAMPLED} mode it covers the sampled blocks. A built heap in a checked mode
     * prints this report to standard error when it is closed with blocks live, unless it was built
     * with {@link Builder#leakReportAtClose(boolean) leakReportAtClose(false)}. Once the heap is
     * closed, the report is of the blocks live when it closed: what it leaked, which
     * {@link #stats()} keeps counting too.
     *
     * <p>A {@link FixedSizePool} left open leaks its pages; for them the report also says which of
     * the pool's blocks are still handed out, by where they were taken, and how many of those the
     * pool did not record ({@link LeakReport.Site#handedOut()}).
     *
     * <p>May be called on any thread while others use the heap and its pools, and never throws for
     * what they do meanwhile: a block allocated or freed during the call may be in the report or
     * not, and a block that a scope, arena, pool or array is taking from the heap at that moment may
     * be listed as the heap API's own. A page a pool gives back during the call is left out. A
     * thread-safe pool is read under its lock for as long as it takes to copy where its live blocks
     * were taken, so what the report says of each of its pages is exact at that moment; a pool that
     * is not thread-safe is read without one, so a block it hands out or takes back on another
     * thread during the call may be counted or not, and one it is handing out may count as not
     * recorded.
     *
     * @return the report, empty when nothing is live (or nothing is tracked)
     */
    public LeakReport leaks() {
        return core.leaks();
    }

    /** @return how much this heap checks */
    public CheckMode checkMode() {
        return core.checkMode();
    }

    /** @return this heap's name */
    public String name() {
        return core.name();
    }

    /**
     * @return whether this heap is closed: a {@link #close()} has closed it (one that throws because
     *     a downcall kept some of its memory mapped included), or a cleanup action asked for its
     *     close, which is carried out later (see {@link #close()}); false after a {@code close()}
     *     that threw and left the heap open (a confined scope or arena of another live thread, or a
     *     downcall using a scope's, arena's or pool's segment). Any thread may call it
     */
    public boolean isClosed() {
        return core.isClosed() || closeDeferredTo != null;
    }

    /**
     * @return whether the heap refuses calls: closed, not merely asked to close by a cleanup action
     *     (see {@link #close()}), until which its blocks still go back to it
     */
    boolean refusesCalls() {
        return core.isClosed();
    }

    /**
     * Closes this heap: first every scope, {@link BumpArena} and {@link FixedSizePool} still open
     * on it; then every segment it returned becomes inaccessible (its scope closes, so a Java
     * access throws {@link IllegalStateException}), and all of its memory is unmapped. Raw
     * addresses must not be used after. Call it once, when no other thread is using the heap.
     * While it runs, a scope, arena or pool that another thread tries to make on the heap is refused
     * ({@link IllegalStateException}), as it would be once the heap is closed; so is one that a
     * cleanup action run by closing a scope or arena (one attached to a segment with
     * {@link MemorySegment#reinterpret(long, Arena, java.util.function.Consumer)}) tries to make.
     * A confined scope or arena whose thread has ended does not keep the heap open: no other
     * thread can close its JDK arena, but none can reach its segments either (an access from
     * another thread throws {@link WrongThreadException}), so the heap frees its blocks and closes
     * ({@link BumpArena#isClosed()} then returns true). The cleanup actions attached to its
     * segments never run then, since they run only when its JDK arena closes: a thread that
     * attaches them should close its scope or arena before it ends.
     *
     * <p>A cleanup action may close the heap, this one or any other. The JDK hands each cleanup
     * action a segment over its block that no arena guards, and the later cleanup actions of the
     * same close may still read theirs, so such a close is carried out when the outermost close
     * under way on the thread (of any heap, or of a scope or bump arena of one) returns, and what
     * it throws is thrown there. An arena of the JDK's own does not count: a heap that a cleanup
     * action of such an arena closes is unmapped at once, and a later cleanup action of that arena
     * that touches the heap's memory kills the JVM (SIGSEGV), as any access to unmapped memory
     * through a raw address does. Until the close is carried out, and while it is, {@link #isClosed()}
     * returns true, no scope, arena or pool can be made on the heap, and a close of the heap by
     * another thread throws {@link IllegalStateException} (already closed); its memory, its
     * segments and its other calls are as before. A close of the heap on this thread meanwhile
     * returns at once, as part of that close. A close of the heap waits for the cleanup actions
     * that another thread's close of a shared scope is running: such a cleanup action must not
     * wait for a thread that closes the heap, which would deadlock.
     *
     * <p>Memory a downcall is using (a native function running with one of the heap's segments,
     * say from an upcall it made into Java, or the memset with which a calloc that another thread
     * began before the close zeroes its block) is never unmapped under it; the JDK refuses to close
     * the segment's scope meanwhile. Blocks of the heap itself are waited for, up to 250 ms in all
     * however many are held, for the downcalls to return; after that, or at once for a scope's,
     * arena's or pool's segment, this method throws {@link IllegalStateException}:
     * <ul>
     * <li>If the segment is of a scope, {@link BumpArena} or {@link FixedSizePool}, that one stays
     *     open (a pool keeps only the pages in use), and so does the heap, with every other
     *     dependent closed, as for a confined scope of a live thread; nothing else changes, and
     *     closing the heap again after the downcall returns finishes.
     * <li>If the segment is of a block of the heap itself, the heap is closed
     *     ({@link #isClosed()} returns true and every operation refuses) and every other segment is
     *     inaccessible and unmapped, except the region of the heap's memory holding that block (in
     *     {@link CheckMode#FAST} mode, and for unsampled blocks, the segments of the region's other
     *     blocks stay accessible too). That memory stays mapped until {@code close()} is called
     *     again after the downcall returns, or the process ends; meanwhile {@link #stats()} counts
     *     it in the reserved bytes and what of it is committed in the committed bytes.
     * </ul>
     *
     * @throws UnsupportedOperationException if this is the {@linkplain #global() global} heap
     * @throws IllegalStateException if this heap is already closed (and a downcall kept none of its
     *     memory mapped), or another thread's close of it is under way (nothing changes then;
     *     a close that a cleanup action asked for is left to that one); if a confined scope or
     *     arena of another thread that is still alive is
     *     still open (only its thread can close it; the heap then stays open, with every other
     *     dependent closed); or if a downcall is using memory of the heap, as described above
     * @throws MemoryMisuseException in a checked mode, if closing a scope, arena or pool found one of
     *     its blocks damaged, as their {@code close()} says; if a block still live (leaked) had its
     *     redzones overwritten ({@link MemoryMisuseException.Kind#HEAP_BUFFER_OVERFLOW}: no free
     *     will verify them); or if a freed block still in quarantine, which leaves it here, was
     *     written after its free ({@link MemoryMisuseException.Kind#USE_AFTER_FREE}, or
     *     {@link MemoryMisuseException.Kind#HEAP_BUFFER_OVERFLOW} for its redzones); the heap is
     *     closed all the same, and the first report is thrown with the others suppressed
     * @throws RuntimeException what a cleanup action attached to a segment of a scope or arena
     *     threw as this closed it (the first, when several did, with the others suppressed in it;
     *     the reports above ride along suppressed), or an {@code Error} or even a checked exception it threw, unchanged: the
     *     scope or arena, and the heap, are closed all the same. Where the heap stays open, or
     *     memory a downcall uses stays mapped, the {@code IllegalStateException} above is thrown
     *     with this suppressed. An exception made with suppression disabled cannot carry a
     *     report: then the first report is thrown, with the cleanup action's exception suppressed
     *     in it
     */
    @Override
    public void close() {
        if (global) {
            throw new UnsupportedOperationException("the global heap cannot be closed");
        }
        Thread current = Thread.currentThread();
        Thread deferredTo = closeDeferredTo;
        if (deferredTo == current) {
            // Asked for by an earlier cleanup action of the close under way, which carries it out.
            return;
        }
        if (core.isClosed()) {
            if (!core.leftMapped() && heapCloseUnderWayOnThisThread()) {
                // A cleanup action that this heap's close runs closes the heap again, as another
                // one already did: part of that close, as closing its scope again is. Memory a
                // downcall kept mapped is unmapped below all the same, as that close asked.
                return;
            }
            // Unmaps what a downcall was using at the first close, or says the heap is closed already.
            core.close();
            return;
        }
        if (deferredTo != null) {
            throw new IllegalStateException("heap '" + name() + "' is already closed: by a cleanup action of a"
                    + " close on " + SanitizerReports.thread(deferredTo) + ", which finishes closing it as it returns");
        }
        if (heapCloseUnderWayOnThisThread()) {
            // A cleanup action that this heap's close runs: part of that close.
            return;
        }
        ClosesUnderWay closes = ClosesUnderWay.ofThisThread();
        if (closes.any()) {
            // A cleanup action: later ones of the same close may still read their blocks.
            closes.defer(this);
            closeDeferredTo = current;
            return;
        }
        closeNow(false);
    }

    /**
     * The body of {@link #close()}: closes the dependents, then the core. A close a cleanup action
     * asked for keeps {@link #closeDeferredTo} set while it is carried out, so that another
     * thread's close meanwhile is refused, and {@link #isClosed()} stays true.
     *
     * @param askedByCleanup whether a cleanup action asked for this close, which another thread's
     *     close under way then carries out: this one returns. Any other close beside another
     *     thread's is refused, as two closes at once would close the same dependents together.
     */
    private void closeNow(boolean askedByCleanup) {
        java.util.List<AutoCloseable> toClose;
        synchronized (dependentsLock) {
            if (!closingThreads.isEmpty() || core.isClosed()) {
                // Another thread's close is under way, or finished since close() looked.
                if (askedByCleanup) {
                    return;
                }
                throw new IllegalStateException(closingThreads.isEmpty() ? "heap '" + name() + "' is already closed"
                        : "heap '" + name() + "' is being closed by " + SanitizerReports.thread(closingThreads.get(0)));
            }
            // From here until this close returns no scope, arena or pool can attach: one made after the
            // list was taken would stay open over the memory core.close() unmaps.
            closingThreads.add(Thread.currentThread());
            toClose = java.util.List.copyOf(dependents);
        }
        try {
            runClose(() -> closeDependentsThenCore(toClose));
        } finally {
            synchronized (dependentsLock) {
                closingThreads.remove(Thread.currentThread());
            }
        }
    }

    /** @return whether a {@link #close()} of this heap is under way on this thread */
    private boolean heapCloseUnderWayOnThisThread() {
        synchronized (dependentsLock) {
            return closingThreads.contains(Thread.currentThread());
        }
    }

    /**
     * Runs {@code close}, a scope's or bump arena's close of its JDK arena, whose cleanup actions may
     * close this heap, or any other.
     */
    void closingDependent(Runnable close) {
        runClose(close);
    }

    /**
     * Runs {@code close}, a close of a heap, scope or bump arena, as a close under way on this
     * thread. The outermost one then closes the heaps its cleanup actions asked to close: the
     * blocks they read stay mapped until every cleanup action has run.
     */
    private static void runClose(Runnable close) {
        ClosesUnderWay closes = ClosesUnderWay.ofThisThread();
        closes.enter();
        Throwable failed = null;
        try {
            close.run();
        } catch (Throwable e) {
            // Any Throwable: what a cleanup action threw, even a checked exception, goes on as it is.
            failed = e;
        } finally {
            for (Heap heap : closes.exit()) {
                try {
                    heap.closeNow(true);
                } catch (Throwable e) {
                    // Thrown as this close's, after what it threw itself.
                    failed = failed == null ? e : SanitizerReports.rideAlong(failed, e);
                } finally {
                    // Closed now, or open still, if a dependent kept it so (as any close says).
                    heap.closeDeferredTo = null;
                }
            }
        }
        if (failed != null) {
            throw ArenaClosing.rethrow(failed);
        }
    }

    /** The body of {@link #close()} once it holds off new dependents: closes {@code toClose}, then the core. */
    private void closeDependentsThenCore(java.util.List<AutoCloseable> toClose) {
        java.util.List<AutoCloseable> otherThreads = new java.util.ArrayList<>();
        java.util.List<String> inUse = new java.util.ArrayList<>();
        MemoryMisuseException damage = null;
        Throwable cleanupFailed = null;
        for (AutoCloseable dependent : toClose) {
            try {
                // One its own thread closed meanwhile needs nothing more.
                if (!closeDependent(dependent) && !isClosed(dependent)) {
                    otherThreads.add(dependent);
                }
            } catch (MemoryMisuseException e) {
                // It closed, giving every block back, and found one damaged: reported once the heap is closed.
                damage = SanitizerReports.combine(damage, e);
            } catch (Throwable e) {
                // Any Throwable: a cleanup action may throw even a checked one, which the
                // dependent's close lets through as it is.
                if (e instanceof AlreadyClosedException closed && closed.isOf(dependent)
                        || e instanceof WrongThreadException && isConfinedElsewhere(dependent)) {
                    // Another thread closed it meanwhile (its owner, which has ended since), or it
                    // is confined to another thread: its owner check, not a cleanup action, threw.
                    if (isClosed(dependent)) {
                        dependents.remove(dependent);
                    } else {
                        otherThreads.add(dependent);
                    }
                } else if (isClosed(dependent)) {
                    // It closed and gave its blocks back, but a cleanup action attached to one of
                    // its segments threw: thrown once the heap is closed.
                    dependents.remove(dependent);
                    if (cleanupFailed == null) {
                        cleanupFailed = e;
                    } else if (e != cleanupFailed) {
                        // Thrown with the first, and what it carries (its holder's reports) with it.
                        cleanupFailed = SanitizerReports.rideAlong(cleanupFailed, e);
                    }
                } else {
                    // The JDK refuses to close an arena while a downcall holds a segment of it.
                    inUse.add(dependent.toString());
                }
            }
        }
        // One its own thread closed while the others were closed (from a cleanup action, say) no
        // longer keeps the heap open.
        otherThreads.removeIf(Heap::isClosed);
        if (!otherThreads.isEmpty() || !inUse.isEmpty()) {
            IllegalStateException notClosed = new IllegalStateException("heap '" + name() + "' is not closed:"
                    + (inUse.isEmpty() ? "" : " a downcall is using a segment of these, which stay open; close the "
                            + "heap again after it returns: " + inUse + (otherThreads.isEmpty() ? "" : ";"))
                    + (otherThreads.isEmpty() ? "" : " close these on their own threads first: " + otherThreads));
            throw (IllegalStateException) first(notClosed, cleanupFailed, damage);
        }
        RuntimeException mappedStill = null;
        try {
            // A cleanup action this close ran may have closed the heap already.
            if (!core.isClosed()) {
                core.close();
            }
        } catch (MemoryMisuseException e) {
            // Damage found in quarantine at the close of the core: found after the dependents'.
            damage = SanitizerReports.combine(damage, e);
        } catch (RuntimeException e) {
            // Closed, but memory a downcall uses stays mapped: first, as it asks for another close.
            mappedStill = e;
        }
        Throwable failure = first(mappedStill, cleanupFailed, damage);
        if (failure != null) {
            // What a cleanup action threw is thrown as it is, even a checked exception.
            throw ArenaClosing.rethrow(failure);
        }
    }

    /**
     * @return the first of {@code failures} that is not null, with the later ones suppressed in
     *     it (or it in a later one, if it takes no suppressed exceptions: see
     *     {@link SanitizerReports#rideAlong}), or null if all are null
     */
    private static Throwable first(Throwable... failures) {
        Throwable first = null;
        for (Throwable failure : failures) {
            if (first == null) {
                first = failure;
            } else if (failure != null) {
                first = SanitizerReports.rideAlong(first, failure);
            }
        }
        return first;
    }

    /**
     * Closes a scope, arena or pool for {@link #close()}: a confined one of another thread only if
     * that thread has ended.
     *
     * @return false if it is confined to another thread, which is still alive, so it stays open
     */
    private static boolean closeDependent(AutoCloseable dependent) throws Exception {
        if (isHolder(dependent) && isClosed(dependent)) {
            // Closed on its own thread since the list was taken.
            return true;
        }
        if (isConfinedToAnotherThread(dependent)) {
            // Not called: its WrongThreadException could not be told from one a cleanup action threw.
            return false;
        }
        if (closeIfOwnerEnded(dependent)) {
            return true;
        }
        if (dependent instanceof HeapScope scope) {
            // Another thread's close of it may be running its cleanup actions, which may still
            // read their blocks: this waits for them.
            scope.closeForHeap();
            return true;
        }
        dependent.close();
        return true;
    }

    /** @return whether {@code dependent} is a scope or arena confined to another thread, which is alive */
    private static boolean isConfinedToAnotherThread(AutoCloseable dependent) {
        return isConfinedElsewhere(dependent) && switch (dependent) {
            case BumpArena arena -> arena.owner().isAlive();
            case HeapScope scope -> scope.owner().isAlive();
            default -> false;
        };
    }

    /** @return whether {@code dependent} is a scope or arena confined to another thread, alive or not */
    private static boolean isConfinedElsewhere(AutoCloseable dependent) {
        Thread owner = switch (dependent) {
            case BumpArena arena -> arena.owner();
            case HeapScope scope -> scope.owner();
            default -> null;
        };
        return owner != null && owner != Thread.currentThread();
    }

    /** @return whether {@code dependent} is a scope, bump arena or pool, which can say whether it is closed */
    private static boolean isHolder(AutoCloseable dependent) {
        return dependent instanceof BumpArena || dependent instanceof HeapScope || dependent instanceof FixedSizePool;
    }

    /** @return whether {@code dependent} is closed; anything but a scope, arena or pool counts as closed */
    private static boolean isClosed(AutoCloseable dependent) {
        return switch (dependent) {
            case BumpArena arena -> arena.isReleased();
            case FixedSizePool pool -> pool.isClosed();
            case HeapScope scope -> scope.isClosed();
            default -> true;
        };
    }

    /** A confined dependent whose thread has ended can be reached by no thread: close it without that thread. */
    private static boolean closeIfOwnerEnded(AutoCloseable dependent) {
        if (dependent instanceof BumpArena arena) {
            return arena.closeIfOwnerEnded();
        }
        return dependent instanceof HeapScope scope && scope.closeIfOwnerEnded();
    }

    /** A segment over the Java heap was never a block of any heap: say so instead of reading its offset. */
    private void requireNative(MemorySegment block, String operation) {
        if (!block.isNative()) {
            // A checked heap names the call, as its other reports do; fast mode walks no stack.
            throw SanitizerReports.plain(MemoryMisuseException.Kind.BAD_FREE,
                    SanitizerReports.badAddressName(operation), "attempting " + operation
                    + " on a segment of the Java heap, which was not malloc()-ed", 0, block
                    + " is a segment of the Java heap: it was never a block of any heap.", "",
                    "heap '" + name() + "'", checkMode() != CheckMode.FAST);
        }
    }

    /**
     * Refuses a segment whose scope is closed: the block it was made for is gone, and the address
     * may hold another block since, which the call must not free or resize. Free in time: a
     * segment's scope is one of its fields, its liveness one field of that (with the test, a pair
     * through the segment API took 1.012 and 0.980 of its time without it at 64 B and mixed sizes,
     * {@code PairBenchmark.malloc4jSegment}, medians of three rounds of {@code malloc4j-bench/ab}).
     */
    private void requireAlive(MemorySegment block, String operation) {
        if (!block.scope().isAlive() && block.address() != 0) {
            throw core.closedScope(operation, block.address());
        }
    }

    /**
     * Called by a scope, arena or pool made on this heap.
     *
     * @throws IllegalStateException if this heap is closed (nothing could be allocated from it), or
     *     is being closed (a close that has taken its list of what to close first would leave this one
     *     open over the memory it unmaps): by another thread, or by this one, from a cleanup action
     *     that closing a dependent runs
     */
    void attach(AutoCloseable dependent) {
        if (global) {
            // Never closed, so nothing to close first: a scope made per request registers nowhere.
            // The set's add and remove took two thirds of a one-block scope's 150-200 ns.
            return;
        }
        synchronized (dependentsLock) {
            checkNotClosedForDependent();
            if (!closingThreads.isEmpty()) {
                throw new IllegalStateException("heap '" + name() + "' is being closed by "
                        + (closingThreads.contains(Thread.currentThread())
                                ? "this thread, whose close of the heap runs the call" : "another thread"));
            }
            dependents.add(dependent);
        }
    }

    /** Marks a block as held by a scope, arena, pool or growable array: freeing it through the heap is a misuse. */
    long adopt(long address, BlockHolder owner) {
        core.setOwner(address, owner);
        return address;
    }

    /**
     * Resizes a block a growable array holds, as {@link #realloc} does ({@code NULL} allocates),
     * and keeps it held by {@code owner}. On failure the block is unchanged and still held. While
     * it resizes, the block is the heap API's, marked as {@code owner} resizing it: damage the resize
     * finds is reported as found when {@code owner} resized it.
     *
     * @param byteAlignment the block's alignment in bytes: above {@link #MIN_ALIGNMENT}, which
     *     {@code realloc} does not keep, the block moves by malloc, copy and free
     */
    MemorySegment reallocOwned(MemorySegment block, long newByteSize, long byteAlignment, BlockHolder owner) {
        if (block.address() == 0) {
            MemorySegment fresh = mallocFor(newByteSize, byteAlignment);
            adopt(fresh.address(), owner);
            return fresh;
        }
        // Held all the while: a free or realloc of it by anyone else is refused as a mismatch.
        core.beginHolderResize(block.address());
        MemorySegment resized;
        try {
            resized = byteAlignment <= MIN_ALIGNMENT ? realloc(block, newByteSize)
                    : moveAligned(block, newByteSize, byteAlignment);
        } catch (RuntimeException | Error e) {
            // Still a live block of the heap (exhaustion, or an overflow found at the realloc, which
            // leaves the block unchanged): held still, or again if a new layout dropped the hold.
            if ("".equals(core.ownerOf(block.address()))) {
                adopt(block.address(), owner);
            }
            throw e;
        } finally {
            core.endHolderResize(block.address());
        }
        adopt(resized.address(), owner);
        return resized;
    }

    private MemorySegment mallocFor(long byteSize, long byteAlignment) {
        return byteAlignment <= MIN_ALIGNMENT ? malloc(byteSize) : mallocAligned(byteSize, byteAlignment);
    }

    /** A realloc that keeps an alignment above {@link #MIN_ALIGNMENT}: malloc, copy, free. */
    private MemorySegment moveAligned(MemorySegment block, long newByteSize, long byteAlignment) {
        MemorySegment moved = mallocAligned(newByteSize, byteAlignment);
        MemorySegment.copy(block, 0, moved, 0, Math.min(block.byteSize(), newByteSize));
        try {
            free(block);
        } catch (RuntimeException | Error e) {
            // The old block stands (its free found it overflowed, say): the caller keeps it.
            free(moved);
            throw e;
        }
        return moved;
    }

    /** Frees a block on behalf of the scope, arena, pool or growable array holding it. */
    void freeOwned(long address) {
        core.freeOwned(address);
    }

    /**
     * Frees a block on behalf of a scope, arena or pool that lets go of it whatever the free finds:
     * where a checked mode finds the block damaged (its redzones overwritten through a raw address, or
     * a block its free pushes out of quarantine written after its free), the block is still freed,
     * each damage being reported once, and the report is returned for the caller to throw once it
     * has let go of the rest.
     *
     * @return the first misuse the free found, or null
     */
    MemoryMisuseException releaseOwned(long address) {
        MemoryMisuseException first = null;
        // A free that finds damage reports it once and leaves the block live, so the next try frees
        // it. The bound only keeps a close from spinning if a free ever kept finding something new.
        for (int attempt = 0; attempt < RELEASE_ATTEMPTS; attempt++) {
            try {
                core.freeOwned(address);
                return first;
            } catch (MemoryMisuseException e) {
                first = SanitizerReports.combine(first, e);
                String owner = core.ownerOf(address);
                if (owner == null || owner.isEmpty()) {
                    // No longer held: freed before the report was thrown (damage found in quarantine after).
                    return first;
                }
            }
        }
        return first;
    }

    /**
     * @return whether a pool records where the block it hands out now is taken and given back: every
     *     block in {@link CheckMode#FULL}, one in the sampling interval in {@link CheckMode#SAMPLED}
     */
    boolean sampleOwnedBlock() {
        return core.sampleOwnedBlock();
    }

    /**
     * For a pool told to free an address it does not know: whether the address is a live block of
     * this heap that nothing holds, which the heap API frees.
     */
    boolean holdsUnheld(long address) {
        return "".equals(core.ownerOf(address));
    }

    /** Called by a dependent when it closes. */
    void detach(AutoCloseable dependent) {
        if (!global) {
            dependents.remove(dependent);
        }
    }

    @Override
    public String toString() {
        return "Heap[" + core.name() + "]";
    }

    /**
     * Settings for a heap of its own. Not thread-safe; each {@link #build()} makes a new heap.
     */
    public static final class Builder {
        private String name = "heap";
        private long maxCommittedBytes = Long.MAX_VALUE;
        private Duration purgeDelay = HeapConfig.DEFAULT_PURGE_DELAY;
        private CheckMode checkMode = CheckMode.FAST;
        private int sampleInterval = HeapConfig.DEFAULT_SAMPLE_INTERVAL;
        private long quarantineBytes = HeapConfig.DEFAULT_QUARANTINE_BYTES;
        private FaultInjection faultInjection;
        private boolean leakReportAtClose = true;

        private Builder() {
        }

        /**
         * @param name the heap's name, used in reports and statistics; default {@code "heap"}
         * @return this builder
         * @throws NullPointerException if {@code name} is null
         */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * Caps the heap's footprint: a request that would take committed bytes past the limit fails
         * as exhaustion does ({@link HeapExhaustedError}, or {@code NULL} from the {@code try*}
         * members). The limit covers all of the heap's memory: in the checked modes, checked blocks
         * with their redzones and the quarantine too. Before it refuses a request, the heap gives back
         * what {@link Heap#trim()} would on the calling thread (retired pages, the calling thread's
         * empty pages, quarantined blocks, the memory large and huge blocks hold past their usable
         * size) and reuses the free memory inside the pages the calling
         * thread allocates from. What it cannot give back still counts against the limit, so a request
         * smaller than the limit minus the live blocks' sizes can still be refused:
         * <ul>
         * <li>fragmentation: free memory sharing an operating-system page with a live block, and
         *     the tails of pages too short for the request (filling the heap with blocks of random
         *     sizes, freeing them all and filling it again can fit a few percent fewer blocks);
         * <li>other running platform threads' spare pages (up to one per small size class they used
         *     and three medium pages each), and the free memory of the pages they allocate from now
         *     (one per size class) that they freed themselves: only the owner thread takes blocks
         *     from those without synchronizing, so while it runs only it returns that memory, when
         *     it scavenges or calls {@code trim()}, or ends (see {@link Heap#trim()}).
         * </ul>
         * In {@link CheckMode#SAMPLED} mode the checked
         * blocks' memory serves checked blocks only, so under a limit a new checked block takes the
         * place of quarantined ones before the heap commits more memory for it: a freed checked block
         * may leave quarantine sooner than in a heap without a limit. Default: no limit.
         *
         * @param maxCommittedBytes the most bytes the heap may commit, positive
         * @return this builder
         * @throws IllegalArgumentException if {@code maxCommittedBytes <= 0}
         */
        public Builder maxCommittedBytes(long maxCommittedBytes) {
            if (maxCommittedBytes <= 0) {
                throw new IllegalArgumentException("maxCommittedBytes must be positive: " + maxCommittedBytes);
            }
            this.maxCommittedBytes = maxCommittedBytes;
            return this;
        }

        /**
         * How long an empty page stays committed before its memory goes back to the operating
         * system, so a loop that frees and allocates again does not map and unmap each time
         * (mimalloc purges after 10 ms to 1 s, jemalloc decays over 10 s). Default 250 ms. The
         * free memory inside pages in use goes back too, every OS page that only free blocks
         * overlap:
         * <ul>
         * <li>of a platform thread that has not allocated for this long, whichever thread freed the
         *     blocks, except in the pages it allocates from (one per size class), where only the
         *     blocks other threads freed go. The purger notices a thread stop allocating at its
         *     looks, which come at least once a second while platform threads have heaps: the
         *     memory goes within the delay plus two seconds of its last malloc;
         * <li>of a thread that allocates, the blocks other threads freed into the pages of a size
         *     class it has not allocated from for this long: about two (up to three) delays after
         *     it left the class. A thread collects those frees only as it allocates from their class;
         * <li>of a thread that allocates from a size class slowly (it refilled its page of the class
         *     fewer than four times meanwhile), the free memory of the class's pages whose blocks
         *     other threads freed and it left uncollected for two delays (a trickle after a burst);
         * <li>of a thread that ended, its pages no thread took over in this time;
         * <li>of the heaps virtual threads share, each once no virtual thread has allocated from it
         *     for this long (within the delay plus two seconds).
         * </ul>
         *
         * @param purgeDelay zero or more; zero purges as soon as the purger thread runs
         * @return this builder
         * @throws IllegalArgumentException if {@code purgeDelay} is negative
         * @throws NullPointerException if {@code purgeDelay} is null
         */
        public Builder purgeDelay(Duration purgeDelay) {
            if (Objects.requireNonNull(purgeDelay, "purgeDelay").isNegative()) {
                throw new IllegalArgumentException("purgeDelay must not be negative: " + purgeDelay);
            }
            this.purgeDelay = purgeDelay;
            return this;
        }

        /**
         * @param checkMode how much the heap checks; default {@link CheckMode#FAST}
         * @return this builder
         * @throws NullPointerException if {@code checkMode} is null
         */
        public Builder checkMode(CheckMode checkMode) {
            this.checkMode = Objects.requireNonNull(checkMode, "checkMode");
            return this;
        }

        /**
         * In {@link CheckMode#SAMPLED} mode, checks one allocation in {@code interval} rounded up to
         * a power of two (so the default 50,000 checks one in 65,536): every such malloc of each
         * platform thread's that the fast path serves (aligned ones at 16 bytes or less included),
         * and other allocations (large blocks, virtual threads', calloc, aligned to more than 16
         * bytes) at random with the same probability. A sampled block costs tens of
         * microseconds (its own shared scope, closed at free, and two stack walks), so sampled mode
         * stays within a few percent of {@link CheckMode#FAST} (malloc4j-bench CheckModeBenchmark).
         *
         * @param interval 1 or more
         * @return this builder
         * @throws IllegalArgumentException if {@code interval < 1}
         */
        public Builder sampleInterval(int interval) {
            if (interval < 1) {
                throw new IllegalArgumentException("sampleInterval must be at least 1: " + interval);
            }
            this.sampleInterval = interval;
            return this;
        }

        /**
         * Caps the bytes of freed blocks that checked modes hold back from reuse. Default 20 MiB,
         * near Valgrind's default (20 MB); 0 reuses freed memory at once. A freed block larger
         * than the cap (its redzones included) is not held back, and pushes no other block out.
         *
         * <p>The cap bounds the quarantined bytes, not the memory they keep committed: a page
         * holding a quarantined block is in use, as one holding a live block is, so the purger does
         * not return it. Small blocks freed in an order unlike their allocation's leave the
         * quarantine's blocks spread over many pages: 400,000 blocks of 16-1,000 B, allocated and
         * then all freed in random order, kept 234 MB committed under the default cap, against 23 MB
         * freed in allocation order and 1.2 MB with a cap of 0. {@link Heap#trim()}, on any thread,
         * empties the quarantine and gives that memory back but for what the pages the owner
         * allocates from keep (see there), as closing the heap does.
         *
         * @param quarantineBytes 0 or more
         * @return this builder
         * @throws IllegalArgumentException if {@code quarantineBytes < 0}
         */
        public Builder quarantineBytes(long quarantineBytes) {
            if (quarantineBytes < 0) {
                throw new IllegalArgumentException("quarantineBytes must not be negative: " + quarantineBytes);
            }
            this.quarantineBytes = quarantineBytes;
            return this;
        }

        /**
         * Makes the heap fail allocations as {@code faultInjection} says, in any mode. Heaps given
         * the same policy share its count ({@link FaultInjection} says how).
         *
         * @param faultInjection the policy
         * @return this builder
         * @throws NullPointerException if {@code faultInjection} is null
         */
        public Builder faultInjection(FaultInjection faultInjection) {
            this.faultInjection = FaultInjection.requireNonNull(faultInjection);
            return this;
        }

        /**
         * Whether {@link Heap#close()} prints the {@linkplain Heap#leaks() leak report} to standard
         * error when a heap in a checked mode closes with blocks live. Default true. Turn it off where
         * the leaks reach the user another way, as a test that fails with the report does, so that
         * they are not reported twice; {@link Heap#leaks()} and {@link Heap#stats()} still report them
         * after the close.
         *
         * @param leakReportAtClose whether {@code close()} prints the leak report
         * @return this builder
         */
        public Builder leakReportAtClose(boolean leakReportAtClose) {
            this.leakReportAtClose = leakReportAtClose;
            return this;
        }

        /**
         * @return a new heap with these settings
         * @throws UnsupportedOperationException if this platform is not supported (malloc4j runs on
         *     Linux on x86-64 and AArch64)
         * @throws IllegalCallerException if the JVM denies native access to malloc4j's module
         *     ({@code --illegal-native-access=deny} without {@code --enable-native-access} naming it:
         *     {@code org.malloc4j} on the module path, {@code ALL-UNNAMED} on the class path); the
         *     message says which option allows it
         */
        public Heap build() {
            FaultPolicy faults = faultInjection == null ? null : faultInjection.policy();
            return new Heap(Allocator.create(new HeapConfig(name, maxCommittedBytes, purgeDelay, checkMode,
                    sampleInterval, quarantineBytes, faults, leakReportAtClose)), false);
        }
    }

    /**
     * A confined {@link Arena} whose {@link Arena#allocate allocate} takes a block from this heap and
     * whose {@link Arena#close() close} frees every block it allocated: the RAII pattern, by
     * try-with-resources. Every FFM convenience of {@link java.lang.foreign.SegmentAllocator}
     * ({@code allocateFrom(String)}, arrays, layouts) works through it.
     *
     * {@snippet lang = java:
     * try (Arena scope = heap.newScope()) {
     *     MemorySegment name = scope.allocateFrom("malloc4j");
     *     MemorySegment point = scope.allocate(POINT_LAYOUT);
     *     // ...
     * } // both blocks are freed here, and both segments are inaccessible
     * }
     *
     * <p>As with {@link Arena#ofConfined()}: its memory is zero-filled; only the calling thread may
     * allocate from it, access its segments or close it (other threads get
     * {@link WrongThreadException}); after {@code close()} its segments are inaccessible (access
     * throws {@link IllegalStateException}) and {@code close()} again throws
     * {@link IllegalStateException}. A scope's blocks are freed by closing it, never one by one.
     * Closing the heap closes the scope first (see {@link #close()}). In a checked mode, a
     * {@code close()} that finds a block written past its bounds through a raw address throws
     * {@link MemoryMisuseException} ({@link MemoryMisuseException.Kind#HEAP_BUFFER_OVERFLOW}) after
     * freeing every block all the same.
     *
     * <p>Its {@code allocate(byteSize, byteAlignment)} (which every other {@code allocate} and
     * {@code allocateFrom} calls) throws what {@link #mallocAligned} throws, for the same causes:
     * {@link IllegalArgumentException} for a negative size or an alignment that is not a positive
     * power of two, {@link HeapExhaustedError}, and in a checked mode {@link MemoryMisuseException}
     * when a block it takes out of quarantine was written after its free (nothing is allocated
     * then); and {@link IllegalStateException} once the scope or the heap is closed.
     *
     * @return a new confined scope drawing from this heap
     * @throws IllegalStateException if this heap is closed, or is being closed (see {@link Heap#close()})
     */
    public Arena newScope() {
        checkNotClosedForDependent();
        return HeapScope.confined(this);
    }

    /**
     * Like {@link #newScope()}, but shared as {@link Arena#ofShared()} is: any thread may allocate
     * from it (allocations take a lock), access its segments and close it. Closing it costs what
     * closing a shared arena costs (a handshake with every thread, tens of microseconds). The
     * cleanup actions attached to its segments run without that lock: another thread's allocation
     * or close meanwhile is refused at once ({@link IllegalStateException}), as a JDK shared arena
     * refuses it, while a {@link #close()} of the heap waits for them, so a cleanup action must not
     * wait for a thread that closes the heap. Its {@code allocate} throws as a confined scope's does
     * (see {@link #newScope()}), but for {@link WrongThreadException}.
     *
     * @return a new shared scope drawing from this heap
     * @throws IllegalStateException if this heap is closed, or is being closed (see {@link Heap#close()})
     */
    public Arena newSharedScope() {
        checkNotClosedForDependent();
        return HeapScope.shared(this);
    }

    /** @throws IllegalStateException if this heap is closed: a scope, arena, pool or array made now could take nothing */
    void checkNotClosedForDependent() {
        Thread deferredTo = closeDeferredTo;
        if (deferredTo != null && !core.isClosed()) {
            throw new IllegalStateException("heap '" + name() + "' is closed: by a cleanup action of a close on "
                    + SanitizerReports.thread(deferredTo) + ", which finishes closing it as it returns");
        }
        if (isClosed()) {
            throw new IllegalStateException("heap '" + name() + "' is closed");
        }
    }
}
