package org.malloc4j.cli;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A synthetic, balanced trace that a worker replays before the real ones, so that the JIT has
 * compiled the replay loops and the allocator's paths, and the JVM's own memory use has settled,
 * before anything is measured. Sizes are mostly small, sometimes large, as in real programs.
 */
final class WarmupTrace {
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

    private WarmupTrace(int steps, long seed) {
        random = new SplittableRandom(seed);
        kinds = new byte[2 * steps];
        ids = new int[2 * steps];
        sizes = new long[2 * steps];
        live = new int[steps];
        liveSize = new long[steps];
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
            if (liveCount == 0 || choice < 0.5) {
                allocate();
            } else if (choice < 0.6) {
                reallocate(random.nextInt(liveCount));
            } else {
                free(random.nextInt(liveCount));
            }
        }
        while (liveCount > 0) {
            free(liveCount - 1);
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
