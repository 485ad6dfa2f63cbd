package org.malloc4j.cli;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The CS:APP malloc-lab performance index of a replay,
 * {@code P = 0.6 U + 0.4 min(1, T / T_libc)}: U is the utilization (capped at 1: an allocator that
 * reuses memory it held before the trace can grow by less than the live bytes), T the ops/s, and
 * T_libc the ops/s of glibc on the same trace in the same run (the lab used a constant instead).
 * Without a glibc result for the trace there is no index.
 */
final class PerformanceIndex {
    /** The weight of utilization; throughput gets the rest. */
    static final double UTILIZATION_WEIGHT = 0.6;

    private PerformanceIndex() {
    }

    /**
     * @param utilization peak live / peak footprint
     * @param opsPerSecond the allocator's throughput
     * @param referenceOpsPerSecond glibc's throughput on the same trace
     * @return the index, from 0 to 1
     */
    static double of(double utilization, double opsPerSecond, double referenceOpsPerSecond) {
        return UTILIZATION_WEIGHT * Math.min(1, utilization)
                + (1 - UTILIZATION_WEIGHT) * Math.min(1, opsPerSecond / referenceOpsPerSecond);
    }

    /**
     * @param results results of one run, of every allocator
     * @return the same results, each correct one with its index where glibc's throughput on the
     *     trace is known
     */
    static List<TraceResult> apply(List<TraceResult> results) {
        Map<String, Double> reference = new HashMap<>();
        for (TraceResult result : results) {
            if (result.allocator().equals(AllocatorCatalog.REFERENCE) && result.isOk()
                    && result.opsPerSecond() != null) {
                reference.put(key(result), result.opsPerSecond());
            }
        }
        return results.stream().map(result -> result.withIndex(index(result, reference.get(key(result))))).toList();
    }

    private static Double index(TraceResult result, Double reference) {
        Double utilization = result.countedUtilization();
        if (!result.isOk() || reference == null || utilization == null || result.opsPerSecond() == null) {
            return null;
        }
        return of(utilization, result.opsPerSecond(), reference);
    }

    private static String key(TraceResult result) {
        return result.set() + "/" + result.trace();
    }
}
