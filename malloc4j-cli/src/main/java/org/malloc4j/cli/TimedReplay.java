package org.malloc4j.cli;

/**
 * A timed pass over a trace: only the allocator's {@code malloc}, {@code realloc} and {@code free}
 * calls, in a tight loop over the trace's arrays, between two {@link System#nanoTime()} reads. No
 * payload byte is read or written (as in the CS:APP driver's timed runs); blocks still live after
 * the last request are freed after the clock stops.
 */
final class TimedReplay {
    private TimedReplay() {
    }

    /**
     * Replays a trace once. The allocator must be between {@link ReplayAllocator#startTrace} and
     * {@link ReplayAllocator#endTrace}.
     *
     * @param trace the trace
     * @param allocator the allocator
     * @return the elapsed time in nanoseconds
     * @throws ReplayFailure if the allocator throws
     */
    static long run(Trace trace, ReplayAllocator allocator) throws ReplayFailure {
        byte[] kinds = trace.kinds();
        int[] ids = trace.ids();
        long[] sizes = trace.sizes();
        long[] addresses = new long[trace.numIds()];
        int op = 0;
        long start = System.nanoTime();
        try {
            for (; op < kinds.length; op++) {
                int id = ids[op];
                switch (kinds[op]) {
                    case Trace.ALLOC -> addresses[id] = allocator.malloc(id, sizes[op]);
                    case Trace.REALLOC -> addresses[id] = allocator.realloc(id, addresses[id], sizes[op]);
                    default -> allocator.free(id, addresses[id]);
                }
            }
        } catch (RuntimeException | Error e) {
            throw new ReplayFailure(op, trace.describe(op), "the allocator threw " + e);
        }
        long elapsed = System.nanoTime() - start;
        for (int id : trace.liveAtEnd()) {
            allocator.free(id, addresses[id]);
        }
        return elapsed;
    }
}
