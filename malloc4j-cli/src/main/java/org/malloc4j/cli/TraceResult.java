package org.malloc4j.cli;

import com.fasterxml.jackson.annotation.JsonIgnore;

/**
 * What replaying one trace through one allocator measured. Sizes are in bytes; a measure the run
 * could not take is null.
 *
 * @param allocator the allocator's name
 * @param trace the trace's name
 * @param set the trace's set
 * @param ops the number of requests
 * @param peakLiveBytes the trace's peak live bytes (the most the live blocks' requested sizes summed to)
 * @param status {@link #OK} or {@link #FAILED}
 * @param failedOp the number (from 1) of the request that went wrong, if it failed there
 * @param failure what went wrong, if it failed
 * @param repeat the number of timed passes
 * @param bestSeconds the fastest timed pass, in seconds
 * @param opsPerSecond requests per second in the fastest timed pass (null when none was timed, or
 *     the trace has no request: a rate of nothing is no throughput)
 * @param peakFootprintBytes the most the allocator's footprint grew over its value at the trace's
 *     start, sampled after every request that allocates
 * @param utilization peak live bytes / peak footprint
 * @param index the CS:APP performance index, 0.6 utilization + 0.4 min(1, ops/s / glibc's ops/s)
 */
public record TraceResult(
        String allocator,
        String trace,
        String set,
        int ops,
        long peakLiveBytes,
        String status,
        Long failedOp,
        String failure,
        int repeat,
        Double bestSeconds,
        Double opsPerSecond,
        Long peakFootprintBytes,
        Double utilization,
        Double index) {

    /** Status of a replay in which every block was right. */
    public static final String OK = "ok";
    /** Status of a replay in which the allocator went wrong. */
    public static final String FAILED = "FAILED";

    /**
     * @return a correct replay's result
     */
    static TraceResult ok(String allocator, Trace trace, int repeat, long bestNanos, long peakFootprintBytes) {
        Double seconds = bestNanos > 0 ? bestNanos / 1e9 : null;
        Long footprint = peakFootprintBytes >= 0 ? peakFootprintBytes : null;
        Double utilization = footprint != null && footprint > 0 ? (double) trace.peakLiveBytes() / footprint : null;
        return new TraceResult(allocator, trace.name(), trace.set(), trace.opCount(), trace.peakLiveBytes(), OK,
                null, null, repeat, seconds, seconds != null && trace.opCount() > 0 ? trace.opCount() / seconds : null,
                footprint, utilization, null);
    }

    /**
     * @return the result of a replay that went wrong
     */
    static TraceResult failed(String allocator, String trace, String set, int ops, long peakLiveBytes,
            Long failedOp, String failure) {
        return new TraceResult(allocator, trace, set, ops, peakLiveBytes, FAILED, failedOp, failure, 0, null, null,
                null, null, null);
    }

    /** @return whether every block was right */
    @JsonIgnore
    public boolean isOk() {
        return OK.equals(status);
    }

    /**
     * @return whether a correct replay's footprint grew by less than its peak live bytes, or not at
     *     all: an RSS figure undercounts when a trace reuses memory the allocator held before it
     *     started, which a tiny trace can do entirely
     */
    @JsonIgnore
    public boolean grewLessThanLive() {
        return isOk() && peakFootprintBytes != null && peakFootprintBytes < peakLiveBytes;
    }

    /**
     * @return the utilization the performance index and the means count: the measured one, at most
     *     1 (100%), which is also what a footprint that did not grow at all while blocks were live
     *     counts as (a ratio without a finite value, null in the JSON); above 100%, the footprint
     *     figure undercounted, and a mean that took it as measured would rank such an allocator
     *     above one whose figure is exact
     */
    @JsonIgnore
    public Double countedUtilization() {
        if (utilization == null) {
            return grewLessThanLive() ? Double.valueOf(1) : null;
        }
        return Math.min(1, utilization);
    }

    /**
     * @param bytes a peak footprint measured elsewhere (null if unknown)
     * @return this result with that peak footprint and the utilization it gives
     */
    public TraceResult withFootprint(Long bytes) {
        Double ratio = bytes != null && bytes > 0 ? (double) peakLiveBytes / bytes : null;
        return new TraceResult(allocator, trace, set, ops, peakLiveBytes, status, failedOp, failure, repeat,
                bestSeconds, opsPerSecond, bytes, ratio, index);
    }

    /** @return this result with the given performance index */
    public TraceResult withIndex(Double index) {
        return new TraceResult(allocator, trace, set, ops, peakLiveBytes, status, failedOp, failure, repeat,
                bestSeconds, opsPerSecond, peakFootprintBytes, utilization, index);
    }
}
