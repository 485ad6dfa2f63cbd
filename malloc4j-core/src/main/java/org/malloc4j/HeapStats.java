package org.malloc4j;

import java.util.Locale;

/**
 * A snapshot of a heap's counters. All sizes are in bytes.
 *
 * <p>Invariants of a quiescent open heap (no call in progress on any thread):
 * {@code requestedBytes <= usableBytes <= committedBytes <= reservedBytes},
 * {@code liveBlocks == mallocCount - freeCount}, and each peak is at least its current value.
 * While other threads allocate, the counters are read one by one without stopping them, so a
 * snapshot may be off by the calls in flight, and by counts a thread made lately: each thread
 * keeps its own, in plain fields that it may publish late, so under load a snapshot may even show
 * more frees than mallocs (a negative {@code liveBlocks}). The heap's purger works on a thread of
 * its own, so the committed, metadata and OS-call figures may change between two snapshots even
 * with no call in progress.
 *
 * <p>A snapshot of a {@linkplain Heap#close() closed} heap is not bound by the first: all of its
 * memory went back to the operating system, so {@code committedBytes} and {@code reservedBytes}
 * are 0, while the blocks still live when it closed stay counted in {@code liveBlocks},
 * {@code requestedBytes} and {@code usableBytes} (what it leaked); the peaks and the other counts
 * keep their last values. After a close that a downcall refused (it throws, and leaves the memory
 * the downcall uses mapped), {@code reservedBytes} and {@code committedBytes} count that memory,
 * until the close that unmaps it.
 *
 * <p>Immutable, so safe to share between threads; {@link Heap#stats()} makes a new one each call.
 *
 * @param name the heap's name
 * @param mallocCount blocks handed out since the heap was made (every malloc family call that
 *     returned a new block, including the new block of a moving {@code realloc})
 * @param freeCount blocks taken back since the heap was made
 * @param requestedBytes bytes the callers asked for, summed over live blocks
 * @param usableBytes usable size summed over live blocks (what {@link Heap#usableSize} reports);
 *     a checked block's usable size is exactly its request, so in {@link CheckMode#FULL} and for
 *     the sampled blocks of {@link CheckMode#SAMPLED} neither redzones nor quarantined blocks count
 * @param committedBytes footprint: bytes of address space the heap has made usable and may have
 *     touched (4 KiB operating-system pages), which physical memory may back; it includes the
 *     redzones of checked blocks and the freed blocks held in quarantine
 * @param peakCommittedBytes the most {@code committedBytes} has been
 * @param reservedBytes address space the heap holds from the operating system
 * @param peakReservedBytes the most {@code reservedBytes} has been
 * @param metadataBytes an estimate of the Java heap bytes the allocator's bookkeeping takes
 *     (page bitmaps, page and region objects); it is not part of {@code committedBytes}
 * @param mmapCalls {@code mmap} calls made, those the operating system refused included (a
 *     request too large for the address space left is tried before it is refused)
 * @param munmapCalls {@code munmap} calls made, those that trim a fresh mapping to its alignment
 *     included (up to two a mapping), so it may exceed {@code mmapCalls}
 * @param madviseCalls {@code madvise(MADV_DONTNEED)} calls made (each returns memory to the OS)
 * @param purgedBytes bytes returned to the operating system by purging since the heap was made
 */
public record HeapStats(
        String name,
        long mallocCount,
        long freeCount,
        long requestedBytes,
        long usableBytes,
        long committedBytes,
        long peakCommittedBytes,
        long reservedBytes,
        long peakReservedBytes,
        long metadataBytes,
        long mmapCalls,
        long munmapCalls,
        long madviseCalls,
        long purgedBytes) {

    /** @return blocks live now: {@code mallocCount - freeCount} */
    public long liveBlocks() {
        return mallocCount - freeCount;
    }

    /** @return the total number of calls to the operating system's memory functions */
    public long osCalls() {
        return mmapCalls + munmapCalls + madviseCalls;
    }

    /**
     * @return a multi-line human-readable rendering, one counter a line, with units; numbers are
     *     grouped by thousands with commas whatever the default locale, so the text reads and
     *     parses the same on every machine
     */
    public String toText() {
        StringBuilder text = new StringBuilder("heap ").append(name).append('\n');
        line(text, "live blocks", liveBlocks(), "");
        line(text, "mallocs", mallocCount, "");
        line(text, "frees", freeCount, "");
        line(text, "requested", requestedBytes, " B");
        line(text, "usable", usableBytes, " B");
        line(text, "committed", committedBytes, " B");
        line(text, "committed peak", peakCommittedBytes, " B");
        line(text, "reserved", reservedBytes, " B");
        line(text, "reserved peak", peakReservedBytes, " B");
        line(text, "metadata", metadataBytes, " B");
        line(text, "purged", purgedBytes, " B");
        line(text, "mmap calls", mmapCalls, "");
        line(text, "munmap calls", munmapCalls, "");
        line(text, "madvise calls", madviseCalls, "");
        return text.toString();
    }

    private static void line(StringBuilder text, String label, long value, String unit) {
        text.append(String.format(Locale.ROOT, "  %-15s %,18d%s%n", label, value, unit));
    }
}
