package org.malloc4j.cli;

import java.util.function.Supplier;

/**
 * Replays one trace through one allocator, in two sessions, each on a fresh thread (see
 * {@link FreshThreads}) between {@link ReplayAllocator#startTrace} and
 * {@link ReplayAllocator#endTrace}:
 * <ol>
 *   <li>the checked pass (verification, untimed), then, if every block was right, the timed passes,
 *       of which the fastest counts;
 *   <li>the footprint pass: the checked pass again, now sampling the footprint after every request
 *       that allocates. By now the JIT has compiled everything this trace runs, and the replay
 *       waits until it is idle ({@link JitIdle}), so the JVM's own memory stays still while the
 *       resident set size is sampled; and the fresh thread gives the allocator fresh per-thread
 *       state, so the trace cannot reuse memory the first session left.
 * </ol>
 */
public final class TraceReplayer {
    private final ReplayAllocator allocator;
    private final int repeat;
    private final boolean sampleFootprint;
    private final FreshThreads threads;

    /**
     * What a session found: a value (nanoseconds, bytes) or a failure.
     *
     * @param value the measure, or -1 if none
     * @param failedOp the op number (from 1) that went wrong, if known
     * @param failure what went wrong, or null
     */
    private record Outcome(long value, Long failedOp, String failure) {
        static Outcome of(long value) {
            return new Outcome(value, null, null);
        }

        static Outcome of(ReplayFailure failure) {
            return new Outcome(-1, failure.opNumber(), failure.getMessage());
        }

        static Outcome failed(String failure) {
            return new Outcome(-1, null, failure);
        }
    }

    /**
     * @param allocator the allocator
     * @param repeat the number of timed passes; 0 only verifies
     * @param sampleFootprint whether to run the footprint pass
     * @param threads where the sessions run
     */
    public TraceReplayer(ReplayAllocator allocator, int repeat, boolean sampleFootprint, FreshThreads threads) {
        if (repeat < 0) {
            throw new IllegalArgumentException("repeat must not be negative: " + repeat);
        }
        this.allocator = allocator;
        this.repeat = repeat;
        this.sampleFootprint = sampleFootprint;
        this.threads = threads;
    }

    /**
     * @param trace the trace
     * @return what the replay measured, or where the allocator went wrong
     */
    public TraceResult replay(Trace trace) {
        Outcome timed = threads.run(() -> session(trace, () -> verifyAndTime(trace)));
        if (timed.failure() != null) {
            return failed(trace, timed);
        }
        long footprint = -1;
        if (sampleFootprint) {
            JitIdle.await();
            Outcome sampled = threads.run(() -> session(trace, () -> sampleFootprint(trace)));
            if (sampled.failure() != null) {
                return failed(trace, sampled);
            }
            footprint = sampled.value();
        }
        return TraceResult.ok(allocator.name(), trace, repeat, timed.value(), footprint);
    }

    /**
     * Runs only the footprint pass, in an allocator that has served no other trace (a fresh worker
     * process): see {@link ReplayAllocator#footprintNeedsOwnProcess()}.
     *
     * @param trace the trace
     * @return the peak footprint, with no timing, or where the allocator went wrong
     */
    public TraceResult measureFootprint(Trace trace) {
        Outcome sampled = threads.run(() -> session(trace, () -> sampleFootprint(trace)));
        return sampled.failure() != null ? failed(trace, sampled)
                : TraceResult.ok(allocator.name(), trace, 0, -1, sampled.value());
    }

    private Outcome verifyAndTime(Trace trace) {
        CheckedReplay.Outcome checked = CheckedReplay.run(trace, allocator, false);
        if (checked.failure() != null) {
            return Outcome.of(checked.failure());
        }
        long best = repeat == 0 ? -1 : Long.MAX_VALUE;
        for (int pass = 0; pass < repeat; pass++) {
            try {
                best = Math.min(best, TimedReplay.run(trace, allocator));
            } catch (ReplayFailure failure) {
                return Outcome.of(failure);
            }
        }
        return Outcome.of(best);
    }

    private Outcome sampleFootprint(Trace trace) {
        CheckedReplay.Outcome checked = CheckedReplay.run(trace, allocator, true);
        return checked.failure() != null ? Outcome.of(checked.failure()) : Outcome.of(checked.peakFootprintBytes());
    }

    /** Runs {@code body} between the allocator's startTrace and endTrace. */
    private Outcome session(Trace trace, Supplier<Outcome> body) {
        try {
            allocator.startTrace(trace.numIds());
        } catch (RuntimeException | Error e) {
            return Outcome.failed(allocator.name() + " could not start the trace: " + e);
        }
        Outcome outcome;
        try {
            outcome = body.get();
        } catch (OutOfMemoryError e) {
            // The passes catch what the allocator throws, so what ran short is the replay's own arrays.
            outcome = Outcome.failed(outOfJavaHeap());
        } catch (RuntimeException | Error e) {
            outcome = Outcome.failed("the replay stopped: " + e);
        }
        try {
            allocator.endTrace();
        } catch (RuntimeException | Error e) {
            return outcome.failure() != null ? outcome
                    : Outcome.failed(allocator.name() + " failed at the end of the trace: " + e);
        }
        return outcome;
    }

    /** @return the reason of a trace whose own data did not fit this JVM's heap */
    static String outOfJavaHeap() {
        return "the replay's own data for this trace did not fit the worker's Java heap ("
                + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MiB): a limit of the replay, not a fault of "
                + "the allocator";
    }

    private TraceResult failed(Trace trace, Outcome outcome) {
        return TraceResult.failed(allocator.name(), trace.name(), trace.set(), trace.opCount(),
                trace.peakLiveBytes(), outcome.failedOp(), outcome.failure());
    }
}
