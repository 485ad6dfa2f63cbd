package org.malloc4j.cli;

/**
 * The untimed pass over a trace: verification as the CS:APP driver (mdriver) does it, and footprint
 * sampling. Every block must be non-null, aligned as C requires (see {@link #requiredAlignment}) and
 * overlap no live block, except that a {@code realloc} to 0 bytes may return NULL: C lets it free the
 * block then (glibc, jemalloc and tcmalloc do), and the id holds no block until its next request.
 * Each block gets a pattern derived from its id and offsets in its whole payload at allocation (and
 * in the new tail at a growing {@code realloc}); a {@code realloc} must keep the pattern in the bytes
 * it keeps, and a block must still hold it when freed. After every request that
 * allocates or reallocates, after the pattern is written, the allocator's footprint is sampled.
 *
 * <p>The first wrong block ends the pass with a {@link ReplayFailure}; the blocks still live are
 * then freed as far as the allocator allows.
 */
final class CheckedReplay {
    /** The alignment of blocks of 16 bytes or more: {@code alignof(max_align_t)} on 64-bit platforms. */
    static final long ALIGNMENT = 16;

    /**
     * What the pass found.
     *
     * @param peakFootprintBytes the most the allocator's footprint grew above its value at the start,
     *     or -1 if the allocator has no footprint figure
     * @param failure the first wrong block, or null if the allocator was right throughout
     */
    record Outcome(long peakFootprintBytes, ReplayFailure failure) {
    }

    private final Trace trace;
    private final ReplayAllocator allocator;
    private final boolean sampling;
    private final LiveBlocks live;
    private final long[] addresses;
    private final long[] sizes;
    private final long baseFootprint;
    private long peakFootprint;

    private CheckedReplay(Trace trace, ReplayAllocator allocator, boolean sampling) {
        this.trace = trace;
        this.allocator = allocator;
        this.live = new LiveBlocks(trace.numIds());
        this.addresses = new long[trace.numIds()];
        this.sizes = new long[trace.numIds()];
        this.baseFootprint = sampling ? allocator.footprint() : -1;
        this.sampling = baseFootprint >= 0;
    }

    /**
     * Replays a trace once, verifying every block. The allocator must be between
     * {@link ReplayAllocator#startTrace} and {@link ReplayAllocator#endTrace}; the pass frees every
     * block it allocated.
     *
     * @param trace the trace
     * @param allocator the allocator
     * @param sampleFootprint whether to sample the allocator's footprint after each allocation
     * @return the peak footprint growth and the first failure, if any
     */
    static Outcome run(Trace trace, ReplayAllocator allocator, boolean sampleFootprint) {
        return new CheckedReplay(trace, allocator, sampleFootprint).run();
    }

    private Outcome run() {
        int op = 0;
        try {
            for (; op < trace.opCount(); op++) {
                replay(op);
            }
        } catch (ReplayFailure failure) {
            freeLive();
            return new Outcome(-1, failure);
        } catch (RuntimeException | Error e) {
            freeLive();
            return new Outcome(-1, new ReplayFailure(op, trace.describe(op), "the allocator threw " + e));
        }
        freeLive();
        return new Outcome(sampling ? peakFootprint : -1, null);
    }

    private void replay(int op) throws ReplayFailure {
        int id = trace.ids()[op];
        long size = trace.sizes()[op];
        switch (trace.kinds()[op]) {
            case Trace.ALLOC -> allocate(op, id, size);
            case Trace.REALLOC -> reallocate(op, id, size);
            default -> free(op, id);
        }
    }

    private void allocate(int op, int id, long size) throws ReplayFailure {
        long address = allocator.malloc(id, size);
        own(id, address, size);
        checkPlacement(op, address, size, "malloc");
        live.add(id, address, size);
        BlockPattern.fill(address, id, 0, size);
        sample();
    }

    private void reallocate(int op, int id, long size) throws ReplayFailure {
        long oldAddress = addresses[id];
        long oldSize = sizes[id];
        if (oldAddress != 0) {
            live.remove(id);
        }
        long address = allocator.realloc(id, oldAddress, size);
        if (address == 0 && size == 0) {
            // Freed, not failed: the allocator owns nothing under this id that must be freed later.
            addresses[id] = 0;
            sizes[id] = 0;
            sample();
            return;
        }
        own(id, address, size);
        checkPlacement(op, address, size, "realloc");
        checkContents(op, id, address, Math.min(oldSize, size),
                "realloc from " + oldSize + " to " + size + " bytes (" + (address == oldAddress
                        ? "in place" : "moved from 0x" + Long.toHexString(oldAddress)) + ") did not keep its contents");
        live.add(id, address, size);
        if (size > oldSize) {
            BlockPattern.fill(address, id, oldSize, size);
        }
        sample();
    }

    private void free(int op, int id) throws ReplayFailure {
        long address = addresses[id];
        // 0: a realloc to 0 bytes freed the block; the free is then C's free(NULL), which does nothing.
        if (address != 0) {
            checkContents(op, id, address, sizes[id], "the block's contents changed while it was live");
            live.remove(id);
            addresses[id] = 0;
        }
        allocator.free(id, address);
    }

    private void checkPlacement(int op, long address, long size, String call) throws ReplayFailure {
        if (address == 0) {
            throw fail(op, call + " returned NULL");
        }
        long alignment = requiredAlignment(size);
        if (address % alignment != 0) {
            throw fail(op, call + " returned 0x" + Long.toHexString(address) + " for " + size
                    + " bytes, not aligned to " + alignment + " bytes");
        }
        int other = live.overlapping(address, size);
        if (other >= 0) {
            throw fail(op, call + " returned [0x" + Long.toHexString(address) + ", 0x"
                    + Long.toHexString(address + size) + "), which overlaps live " + live.describe(other));
        }
    }

    /**
     * The alignment a block of {@code size} bytes must have: {@value #ALIGNMENT} bytes, or for a
     * smaller block the largest power of two not above its size. C (C17 7.22.3, after defect report
     * 445) asks only for an alignment suitable for the objects that fit in the block, and jemalloc,
     * mimalloc and tcmalloc give 8-byte blocks an 8-byte alignment.
     *
     * @param size a request size in bytes
     * @return the alignment the block must have
     */
    static long requiredAlignment(long size) {
        return Math.min(ALIGNMENT, Long.highestOneBit(Math.max(size, 1)));
    }

    private void checkContents(int op, int id, long address, long length, String what) throws ReplayFailure {
        long offset = BlockPattern.firstMismatch(address, id, 0, length);
        if (offset >= 0) {
            throw fail(op, "block " + id + ": " + what + ": byte " + offset + " of " + length + " is "
                    + hex(BlockPattern.actual(address + offset)) + ", expected "
                    + hex(BlockPattern.expected(id, offset)));
        }
    }

    /** Notes a block the allocator handed out, so it is freed even if it turns out wrong. */
    private void own(int id, long address, long size) {
        if (address != 0) {
            addresses[id] = address;
            sizes[id] = size;
        }
    }

    /** Samples how much the footprint has grown over its value at the start. */
    private void sample() {
        if (sampling) {
            peakFootprint = Math.max(peakFootprint, allocator.footprint() - baseFootprint);
        }
    }

    /** Frees every block still live: the trace's unfreed blocks, or all of them after a failure. */
    private void freeLive() {
        for (int id = 0; id < addresses.length; id++) {
            if (addresses[id] != 0) {
                try {
                    allocator.free(id, addresses[id]);
                } catch (RuntimeException | Error e) {
                    // The allocator already failed this trace; what is left of its heap is its own business.
                }
                addresses[id] = 0;
            }
        }
    }

    private ReplayFailure fail(int op, String problem) {
        return new ReplayFailure(op, trace.describe(op), problem);
    }

    private static String hex(byte b) {
        return String.format("0x%02x", b & 0xFF);
    }
}
