package org.malloc4j.cli;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A synthetic, balanced trace that a worker replays before the real ones, so that the JIT has
 * compiled the replay loops and the allocator's paths, and the JVM's own memory use has settled,
 * before anything is measured. Sizes are mostly small, sometimes large, as in real programs.
 *
 * <p>Beside the random requests, one buffer grows by 64-319 bytes at a time from at most 64 bytes to
 * {@value #BUFFER_LIMIT} bytes, then is freed and started again, as a growing array or string
 * grows: through small, medium and large blocks, in place and moved. Without it the warm-up left
 * that path cold: malloc4j replayed realloc-bal (a buffer grown by 128 bytes at a time to 600 KB)
 * at 29,000-50,000 Kops/s, the best of 3 passes, in 16 runs of {@code malloc4j replay -a malloc4j};
 * with it, at 51,000-68,000 in six. Warm, on a heap of its own, the trace takes 10.7-12 ns a
 * request: about 85,000 Kops/s.
 */
final class WarmupTrace {
    /** The size at which the growing buffer is freed and started again. */
    private static final long BUFFER_LIMIT = 512 * 1024;

    private final SplittableRandom random;
    private final byte[] kinds;
    private final int[] ids;
    private final long[] sizes;
    private final int[] live;
    private final long[] liveSize;
    private int count;
    private int liveCount;
    private int nextId;
    private long liveBytes;
    private long peakLiveBytes;
    /** The growing buffer's id, or -1 between buffers. */
    private int buffer = -1;

    private WarmupTrace(int steps, long seed) {
        random = new SplittableRandom(seed);
        // Each step one request, then a free of each block still live and of the buffer.
        kinds = new byte[2 * steps + 1];
        ids = new int[2 * steps + 1];
        sizes = new long[2 * steps + 1];
        live = new int[steps];
        // The ids of the growing buffers come from the same counter: at most one a step.
        liveSize = new long[2 * steps];
    }

    /**
     * @param steps the number of random requests (allocations, reallocations, frees); the frees of
     *     the blocks still live follow them
     * @param seed the random seed
     * @return the trace
     */
    static Trace create(int steps, long seed) {
        return new WarmupTrace(steps, seed).generate(steps);
    }

    private Trace generate(int steps) {
        for (int step = 0; step < steps; step++) {
            double choice = random.nextDouble();
            if (liveCount == 0 || choice < 0.45) {
                allocate();
            } else if (choice < 0.55) {
                reallocate(random.nextInt(liveCount));
            } else if (choice < 0.65) {
                grow();
            } else {
                free(random.nextInt(liveCount));
            }
        }
        while (liveCount > 0) {
            free(liveCount - 1);
        }
        if (buffer >= 0) {
            append(Trace.FREE, buffer, 0);
        }
        long[] header = {peakLiveBytes, nextId, count, 1};
        return new Trace("warmup", "warmup", header, Arrays.copyOf(kinds, count), Arrays.copyOf(ids, count),
                Arrays.copyOf(sizes, count), new int[0], peakLiveBytes);
    }

    private void allocate() {
        int id = nextId++;
        live[liveCount++] = id;
        append(Trace.ALLOC, id, size());
    }

    private void reallocate(int slot) {
        append(Trace.REALLOC, live[slot], size());
    }

    /** A step of the growing buffer: made, grown, or freed at its limit. */
    private void grow() {
        if (buffer < 0) {
            buffer = nextId++;
            append(Trace.ALLOC, buffer, 1 + random.nextInt(64));
        } else if (liveSize[buffer] >= BUFFER_LIMIT) {
            append(Trace.FREE, buffer, 0);
            buffer = -1;
        } else {
            append(Trace.REALLOC, buffer, liveSize[buffer] + 64 + random.nextInt(256));
        }
    }

    private void free(int slot) {
        int id = live[slot];
        live[slot] = live[--liveCount];
        append(Trace.FREE, id, 0);
    }

    private void append(byte kind, int id, long size) {
        liveBytes += size - (kind == Trace.ALLOC ? 0 : liveSize[id]);
        liveSize[id] = size;
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        kinds[count] = kind;
        ids[count] = id;
        sizes[count] = size;
        count++;
    }

    private long size() {
        int bucket = random.nextInt(100);
        if (bucket < 80) {
            return 8 + random.nextInt(504);
        }
        if (bucket < 98) {
            return 512 + random.nextInt(16 * 1024);
        }
        return 64 * 1024 + random.nextInt(192 * 1024);
    }
}
