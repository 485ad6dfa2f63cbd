package org.malloc4j.bench;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * What a 4 KiB operating-system page costs on this machine, measured on anonymous mappings of its
 * own (its own {@code mmap}, {@code madvise} and {@code munmap} downcalls, not malloc4j's), so the
 * numbers are the kernel's and nothing else's:
 * <ul>
 *   <li><b>first touch</b>: one byte written per page of a fresh mapping (a page fault, and the
 *       kernel zeroing the page);
 *   <li><b>touched</b>: the same writes again, the pages present (the baseline);
 *   <li><b>{@code madvise(MADV_DONTNEED)}</b> of the whole range, per page, and the <b>re-touch</b>
 *       after it (a fault and zeroing again: what a purged page costs when it is used again);
 *   <li><b>{@code mmap} + {@code munmap}</b> of a 32 MiB range (no touch), per pair.
 * </ul>
 * Each mapping is {@code madvise(MADV_NOHUGEPAGE)}, so pages are 4 KiB whatever the transparent
 * huge page setting is. One warm-up repetition is discarded; the result is the median of the rest.
 */
@SuppressWarnings("restricted")
final class FirstTouch {
    static final long OS_PAGE = 4096;
    private static final int PROT_READ = 0x1;
    private static final int PROT_WRITE = 0x2;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final int MAP_NORESERVE = 0x4000;
    private static final int MADV_DONTNEED = 4;
    private static final int MADV_NOHUGEPAGE = 15;
    private static final long MAP_FAILED = -1L;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MMAP = link("mmap",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = link("munmap", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle MADVISE = link("madvise",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));

    /** Medians over the measured repetitions, in ns (per 4 KiB page unless named otherwise). */
    record Result(long regionBytes, int repetitions, double firstTouchNs, double touchedNs, double madviseNs,
                  double madviseCallUs, double retouchNs, double mmapMunmapPairUs) {
    }

    private FirstTouch() {
    }

    private static MethodHandle link(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), descriptor);
    }

    /**
     * @param regionBytes the size of each mapping
     * @param repetitions measured repetitions (one more runs first as warm-up)
     */
    static Result measure(long regionBytes, int repetitions) {
        long pages = regionBytes / OS_PAGE;
        double[] first = new double[repetitions];
        double[] touched = new double[repetitions];
        double[] madvise = new double[repetitions];
        double[] retouch = new double[repetitions];
        for (int rep = -1; rep < repetitions; rep++) {
            long base = map(regionBytes);
            try {
                advise(base, regionBytes, MADV_NOHUGEPAGE);
                MemorySegment memory = MemorySegment.ofAddress(base).reinterpret(regionBytes);
                long t0 = System.nanoTime();
                touch(memory, (byte) 1);
                long t1 = System.nanoTime();
                touch(memory, (byte) 2);
                long t2 = System.nanoTime();
                advise(base, regionBytes, MADV_DONTNEED);
                long t3 = System.nanoTime();
                touch(memory, (byte) 3);
                long t4 = System.nanoTime();
                if (rep >= 0) {
                    first[rep] = (double) (t1 - t0) / pages;
                    touched[rep] = (double) (t2 - t1) / pages;
                    madvise[rep] = (double) (t3 - t2) / pages;
                    retouch[rep] = (double) (t4 - t3) / pages;
                }
            } finally {
                unmap(base, regionBytes);
            }
        }
        double madviseMedian = Median.of(madvise);
        return new Result(regionBytes, repetitions, Median.of(first), Median.of(touched), madviseMedian,
                madviseMedian * pages / 1000.0, Median.of(retouch), mmapMunmapPairUs(32L << 20, 2000));
    }

    /** Writes one byte in every 4 KiB page of {@code memory}. */
    private static void touch(MemorySegment memory, byte value) {
        long size = memory.byteSize();
        for (long offset = 0; offset < size; offset += OS_PAGE) {
            memory.set(JAVA_BYTE, offset, value);
        }
    }

    private static double mmapMunmapPairUs(long bytes, int pairs) {
        for (int i = 0; i < pairs / 10; i++) {
            unmap(map(bytes), bytes);
        }
        double[] samples = new double[5];
        for (int s = 0; s < samples.length; s++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < pairs; i++) {
                unmap(map(bytes), bytes);
            }
            samples[s] = (System.nanoTime() - t0) / 1000.0 / pairs;
        }
        return Median.of(samples);
    }

    private static long map(long bytes) {
        long address;
        try {
            address = (long) MMAP.invokeExact(0L, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
        if (address == MAP_FAILED || address == 0) {
            throw new IllegalStateException("mmap of " + bytes + " bytes failed");
        }
        return address;
    }

    private static void unmap(long address, long bytes) {
        int result;
        try {
            result = (int) MUNMAP.invokeExact(address, bytes);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
        if (result != 0) {
            throw new IllegalStateException("munmap failed");
        }
    }

    private static void advise(long address, long bytes, int advice) {
        int result;
        try {
            result = (int) MADVISE.invokeExact(address, bytes, advice);
        } catch (Throwable t) {
            throw Natives.rethrow(t);
        }
        // MADV_NOHUGEPAGE fails (EINVAL) on kernels built without transparent huge pages: then
        // every page is 4 KiB anyway.
        if (result != 0 && advice != MADV_NOHUGEPAGE) {
            throw new IllegalStateException("madvise(" + advice + ") failed");
        }
    }
}
