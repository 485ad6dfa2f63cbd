package org.malloc4j.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The operating-system layer: the only class that calls the OS or makes segments from raw
 * addresses (the restricted FFM methods). Linux only: reserve with {@code mmap}, return physical
 * memory with {@code madvise(MADV_DONTNEED)}, release with {@code munmap}.
 */
public final class Os {
    /** The OS page size this allocator commits in, in bytes (Linux x86-64 and AArch64 base pages). */
    public static final int OS_PAGE_SIZE = 4096;

    private static final int PROT_READ = 0x1;
    private static final int PROT_WRITE = 0x2;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final int MAP_NORESERVE = 0x4000;
    private static final int MADV_DONTNEED = 4;
    private static final long MAP_FAILED = -1L;

    /*
     * The calls that change mappings allocate nothing on the Java heap, so they cannot fail for want
     * of it (a heap out of Java memory must still map, commit and return memory as its state says):
     * a failed madvise is made again through a handle that captures errno, for the message alone
     * (it fails the same way again, and advice given twice changes nothing).
     */
    private static final MethodHandle MMAP;
    private static final MethodHandle MUNMAP;
    private static final MethodHandle MADVISE;
    private static final MethodHandle MADVISE_ERRNO;
    private static final MethodHandle SCHED_GETCPU;
    private static final MethodHandle MEMSET_CRITICAL;
    private static final MethodHandle MEMSET;
    /** {@code syscall(SYS_membarrier, cmd, flags, cpu)}, or null where the C library has no {@code syscall}. */
    private static final MethodHandle MEMBARRIER;
    /** The system call's number: x86-64's 324, AArch64's 283 (Linux's {@code unistd} tables). */
    private static final long SYS_MEMBARRIER = System.getProperty("os.arch", "").equals("aarch64") ? 283 : 324;
    private static final int MEMBARRIER_CMD_PRIVATE_EXPEDITED = 1 << 3;
    private static final int MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 1 << 4;
    /**
     * The calls of a method handle after which the JDK makes code for that handle alone, on the Java
     * heap, when the caller is not compiled with the handle as a constant: one more than
     * {@code java.lang.invoke.MethodHandle.CUSTOMIZE_THRESHOLD}, which is 127 at most.
     */
    private static final int CUSTOMIZING_CALLS = 128;
    /**
     * From this many bytes {@link #zero} copies from {@link #ZEROS} instead of calling
     * {@link MemorySegment#fill}: the copy's stub writes in vector-wide stores where the fill writes
     * a long at a time. Fill against copy, in ns: 64 B 3.4 against 4.3, 128 B 6.3 against 5.0,
     * 256 B 8.5 against 5.7, 1 KiB 18.6 against 8.8 (a scratch loop over one shared arena's
     * segment, JDK 25, 2 processors).
     */
    private static final long ZERO_COPY_MIN = 128;
    /**
     * Past this many bytes {@link #zero} calls the C library's {@code memset}. Below it the copy is
     * as fast or faster: the downcall must take and give back the segment's shared arena (two
     * atomic updates, about 10 ns), which a copy, checked by the JVM's handshake at the arena's
     * close, does not. Copy against {@code memset}, in ns: 1 KiB 8.8 against 16.3, 4 KiB 41 against
     * 60, 8 KiB 71 against 87, 16 KiB 167 against 176, 32 KiB 361 against 322, 64 KiB 734 against
     * 633 (the same loop).
     */
    private static final long MEMSET_MIN = 16 * 1024 + 1;
    /**
     * The source of {@link #zero}'s copies: zeros for as long as the process runs (read-only, and
     * of the global arena). One OS page, so that it stays in the processor's nearest cache while
     * a block is copied over from it a page at a time.
     */
    private static final MemorySegment ZEROS = Arena.global().allocate(4096, 64).asReadOnly();
    /**
     * Larger fills leave the JVM's state for the call: a critical downcall holds off safepoints
     * for as long as it runs, about 10 µs for this many bytes.
     */
    private static final long MEMSET_CRITICAL_MAX = 256 * 1024;
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    /**
     * Why this process cannot use malloc4j, or null: a platform other than Linux on x86-64 or
     * AArch64, or native access denied to malloc4j's module. Kept rather than thrown from this
     * class's initialization, which would fail once with an {@link ExceptionInInitializerError}
     * and then with {@link NoClassDefFoundError}s that say nothing of the cause.
     */
    private static final RuntimeException UNAVAILABLE;

    static {
        Handles handles = null;
        RuntimeException unavailable = null;
        try {
            checkPlatform();
            handles = link();
        } catch (UnsupportedOperationException e) {
            unavailable = e;
        } catch (IllegalCallerException e) {
            unavailable = e;
        }
        UNAVAILABLE = unavailable;
        MMAP = handles == null ? null : handles.mmap;
        MUNMAP = handles == null ? null : handles.munmap;
        MADVISE = handles == null ? null : handles.madvise;
        MADVISE_ERRNO = handles == null ? null : handles.madviseErrno;
        MEMSET_CRITICAL = handles == null ? null : handles.memsetCritical;
        MEMSET = handles == null ? null : handles.memset;
        SCHED_GETCPU = handles == null ? null : handles.schedGetcpu;
        MEMBARRIER = handles == null ? null : handles.membarrier;
        if (handles != null) {
            linkMappingCalls();
        }
    }

    /**
     * Makes each call that changes mappings, with nothing to change, while the first heap is made:
     * a downcall's first call links code on the Java heap, and a heap whose first region or first
     * return of memory met a full Java heap would otherwise fail there (with the
     * {@link OutOfMemoryError}, and nothing changed). So does its {@value #CUSTOMIZING_CALLS}th
     * call, which makes the handle's own code: made {@value #CUSTOMIZING_CALLS} times here. Left to
     * a heap's 128th madvise, that code failed under a full Java heap for every madvise after until
     * it was made, some of them after their callers had taken the memory as returned (the purger's
     * run of holes in pages in use, {@code ReturnRun}): it stayed counted as committed, past the
     * unmapping of the last region (JavaHeapExhaustionTest's remote frees, about one run in 30).
     * A failure here is left for the calls after. The handles are called straight, not through
     * {@link #release}, whose refusal of the empty range would build an exception each time.
     */
    private static void linkMappingCalls() {
        try {
            for (int call = 0; call < CUSTOMIZING_CALLS; call++) {
                long mmap = (long) MMAP.invokeExact(0L, 0L, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
                int madvise = (int) MADVISE.invokeExact(0L, 0L, MADV_DONTNEED);
                int munmap = (int) MUNMAP.invokeExact(0L, 0L);
            }
        } catch (Throwable t) {
            // What the calls return (EINVAL for an empty range) is not the point; a failure to
            // link is left for the first call that needs it.
        }
    }

    /** The downcalls this class makes; the last two are null where the C library lacks them. */
    private record Handles(MethodHandle mmap, MethodHandle munmap, MethodHandle madvise,
            MethodHandle madviseErrno, MethodHandle memsetCritical, MethodHandle memset, MethodHandle schedGetcpu,
            MethodHandle membarrier) {
    }

    /** @throws IllegalCallerException if native access is denied to this class's module */
    private static Handles link() {
        Linker linker = Linker.nativeLinker();
        Linker.Option errno = Linker.Option.captureCallState("errno");
        MethodHandle mmap = linker.downcallHandle(linker.defaultLookup().find("mmap").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
        MemorySegment munmapSymbol = linker.defaultLookup().find("munmap").orElseThrow();
        FunctionDescriptor munmap = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG);
        MemorySegment madviseSymbol = linker.defaultLookup().find("madvise").orElseThrow();
        FunctionDescriptor madvise = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT);
        FunctionDescriptor memset = FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG);
        MemorySegment memsetSymbol = linker.defaultLookup().find("memset").orElseThrow();
        // A leaf call that only reads the thread's rseq area (glibc 2.35+): no thread state change.
        MethodHandle schedGetcpu = linker.defaultLookup().find("sched_getcpu")
                .map(symbol -> linker.downcallHandle(symbol, FunctionDescriptor.of(ValueLayout.JAVA_INT),
                        Linker.Option.critical(false)))
                .orElse(null);
        MethodHandle membarrier = linker.defaultLookup().find("syscall")
                .map(symbol -> linker.downcallHandle(symbol, FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
                        Linker.Option.firstVariadicArg(1)))
                .orElse(null);
        return new Handles(mmap, linker.downcallHandle(munmapSymbol, munmap),
                linker.downcallHandle(madviseSymbol, madvise),
                linker.downcallHandle(madviseSymbol, madvise, errno),
                linker.downcallHandle(memsetSymbol, memset, Linker.Option.critical(false)),
                linker.downcallHandle(memsetSymbol, memset), schedGetcpu, membarrier);
    }

    /**
     * Checks that this process can use malloc4j, before a heap is made: each call throws anew.
     *
     * @throws UnsupportedOperationException if this is not Linux on x86-64 or AArch64
     * @throws IllegalCallerException if native access is denied to malloc4j's module
     *     ({@code --illegal-native-access=deny} without {@code --enable-native-access} naming it)
     */
    public static void checkAvailable() {
        RuntimeException why = UNAVAILABLE;
        if (why instanceof UnsupportedOperationException) {
            throw new UnsupportedOperationException(why.getMessage(), why);
        }
        if (why != null) {
            Module module = Os.class.getModule();
            String name = module.isNamed() ? module.getName() : "ALL-UNNAMED";
            throw new IllegalCallerException("malloc4j needs native access, which this JVM denies its module: run "
                    + "with --enable-native-access=" + name + " (" + why.getMessage() + ")", why);
        }
    }

    private Os() {
    }

    private static void checkPlatform() {
        String os = System.getProperty("os.name", "");
        String arch = System.getProperty("os.arch", "");
        if (!os.startsWith("Linux") || !(arch.equals("amd64") || arch.equals("x86_64") || arch.equals("aarch64"))) {
            throw new UnsupportedOperationException(
                    "malloc4j runs on Linux on x86-64 and AArch64; this is " + os + " on " + arch);
        }
    }

    /**
     * Reserves {@code byteSize} bytes of address space, readable and writable, backed by physical
     * memory only where touched.
     *
     * @param accounted whether the OS should count the range against its commit limit: true for a
     *     mapping that will be used whole (a huge block), so the OS refuses one larger than memory
     *     and swap, as it does glibc's; false ({@code MAP_NORESERVE}) for a region that is only
     *     touched where pages are made
     * @return the start address, or 0 if the OS refused
     */
    public static long reserve(long byteSize, boolean accounted) {
        int flags = MAP_PRIVATE | MAP_ANONYMOUS | (accounted ? 0 : MAP_NORESERVE);
        long address;
        try {
            address = (long) MMAP.invokeExact(0L, byteSize, PROT_READ | PROT_WRITE, flags, -1, 0L);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("mmap downcall failed", t);
        }
        return address == MAP_FAILED ? 0 : address;
    }

    /**
     * Gives {@code [address, address + byteSize)} back to the OS.
     *
     * @throws IllegalStateException if the OS refused, with its errno
     */
    public static void release(long address, long byteSize) {
        int result;
        try {
            result = (int) MUNMAP.invokeExact(address, byteSize);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("munmap downcall failed", t);
        }
        if (result != 0) {
            // Not made again for its errno, as a failed madvise is: a munmap that succeeded the
            // second time would unmap what the heap, told of the failure, still counts as mapped.
            throw new IllegalStateException("munmap failed: address=0x" + Long.toHexString(address) + ", byteSize="
                    + byteSize);
        }
    }

    /**
     * Returns the physical memory behind {@code [address, address + byteSize)} to the OS; the range
     * stays mapped and reads as zeros when touched again.
     *
     * @throws IllegalStateException if the OS refused, with its errno
     */
    public static void decommit(long address, long byteSize) {
        int result;
        try {
            result = (int) MADVISE.invokeExact(address, byteSize, MADV_DONTNEED);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("madvise downcall failed", t);
        }
        if (result != 0) {
            throw new IllegalStateException(failure(address, byteSize));
        }
    }

    /**
     * The processor the calling thread runs on, as a hint for spreading work so that each processor
     * mostly touches its own data: the thread may move at any time after it returns.
     *
     * @return a processor number, 0 or more, or -1 if the platform cannot tell
     */
    public static int currentProcessor() {
        if (SCHED_GETCPU == null) {
            return -1;
        }
        try {
            return (int) SCHED_GETCPU.invokeExact();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("sched_getcpu downcall failed", t);
        }
    }

    /**
     * Makes every thread of this process that is running pass a full memory barrier before this
     * returns ({@code membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)}, Linux 4.14 and later); a thread
     * that is not running passes one when it is next scheduled. So every store another thread made
     * before the call is visible to the caller after it, and every store the caller made before the
     * call is visible to loads other threads make after it: the side of a handshake that runs
     * rarely pays for both, and the other, a fast path, for none. Takes some microseconds.
     *
     * @return false if the OS does not offer it here (an older kernel, or a filter that forbids the
     *     call): nothing was done then
     */
    public static boolean fenceAllThreads() {
        return Membarrier.REGISTERED && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0;
    }

    /** Registers the process for expedited barriers once, on the first {@link #fenceAllThreads}. */
    private static final class Membarrier {
        static final boolean REGISTERED = MEMBARRIER != null
                && membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
    }

    private static long membarrier(int command) {
        try {
            return (long) MEMBARRIER.invokeExact(SYS_MEMBARRIER, command, 0, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("membarrier downcall failed", t);
        }
    }

    /**
     * The calling thread's interrupt status, read before an access to memory that another thread
     * may unmap meanwhile (a misuse racing the call), for {@link #restoreInterruptStatus}.
     */
    static boolean interruptStatus() {
        return Thread.currentThread().isInterrupted();
    }

    /**
     * After an access to memory that failed because another thread closed its arena meanwhile: the
     * JDK ends such an access with an asynchronous exception (JDK-8310644), and installing one
     * interrupts the thread, so the caller's next blocking call would throw
     * {@link InterruptedException} though nothing interrupted it (275 of 300 racing copies were
     * left so on JDK 25). Puts the status back as {@link #interruptStatus} read it before the access;
     * an interrupt another thread sent during the access is lost with it, as the two cannot be told apart.
     */
    static void restoreInterruptStatus(boolean interruptedBefore) {
        if (!interruptedBefore) {
            Thread.interrupted();
        }
    }

    /**
     * Fills {@code block} with zeros, as {@link MemorySegment#fill} does, but faster from
     * {@value #ZERO_COPY_MIN} bytes on: by copies from a page of zeros up to 16 KiB, through the C
     * library's {@code memset} past it. A copy is checked against the arena's close as the fill is;
     * a segment passed to a downcall keeps its arena open for the call. Either way a heap closed
     * meanwhile (a misuse) makes this throw, and nothing is written to memory that went back to the OS.
     *
     * @throws IllegalStateException if the segment's arena is closed, or it is confined to another
     *     thread
     */
    public static void zero(MemorySegment block) {
        long byteSize = block.byteSize();
        if (byteSize < ZERO_COPY_MIN) {
            block.fill((byte) 0);
            return;
        }
        if (byteSize < MEMSET_MIN) {
            copyZeros(block, byteSize);
            return;
        }
        try {
            MemorySegment ignored = byteSize <= MEMSET_CRITICAL_MAX
                    ? (MemorySegment) MEMSET_CRITICAL.invokeExact(block, 0, byteSize)
                    : (MemorySegment) MEMSET.invokeExact(block, 0, byteSize);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("memset downcall failed", t);
        }
    }

    private static void copyZeros(MemorySegment block, long byteSize) {
        long step = ZEROS.byteSize();
        long offset = 0;
        for (; byteSize - offset > step; offset += step) {
            MemorySegment.copy(ZEROS, 0, block, offset, step);
        }
        MemorySegment.copy(ZEROS, 0, block, offset, byteSize - offset);
    }

    /**
     * The message of a failed {@code madvise(MADV_DONTNEED)}, with the errno of the same call made
     * again through the handle that captures it.
     */
    private static String failure(long address, long byteSize) {
        String errno;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int again = (int) MADVISE_ERRNO.invokeExact(state, address, byteSize, MADV_DONTNEED);
            errno = again == 0 ? "none (it succeeded when made again)" : String.valueOf((int) ERRNO.get(state, 0L));
        } catch (Throwable t) {
            errno = "unknown (" + t + ")";
        }
        return "madvise failed: errno=" + errno + ", address=0x" + Long.toHexString(address) + ", byteSize=" + byteSize;
    }

    /**
     * A segment over {@code [address, address + byteSize)} that lives as long as {@code arena}.
     * The caller guarantees the range is mapped for that long.
     */
    public static MemorySegment segment(long address, long byteSize, Arena arena) {
        return MemorySegment.ofAddress(address).reinterpret(byteSize, arena, null);
    }
}
