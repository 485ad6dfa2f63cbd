package org.malloc4j.cli;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.function.Predicate;

/**
 * One allocator's results summed up over a group of traces: all of them ({@value #ALL}) or one trace
 * set. Only correct replays count toward the means.
 *
 * @param allocator the allocator's name
 * @param set a trace set, or {@value #ALL}
 * @param traces the number of traces replayed
 * @param failed how many of them the allocator FAILED
 * @param meanUtilization the mean utilization (null if none was measured)
 * @param opsPerSecond total requests / total time of the fastest passes (null if nothing was timed,
 *     or the timed traces have no request)
 * @param meanIndex the mean performance index (null if none was computed)
 */
public record Summary(String allocator, String set, int traces, int failed, Double meanUtilization,
        Double opsPerSecond, Double meanIndex) {

    /** The name of the group of all traces. */
    public static final String ALL = "all";

    /**
     * @param allocators the allocators that ran, in report order
     * @param results every result, with indexes
     * @return per allocator a summary over all traces, then, if the traces come from several sets,
     *     one per set
     */
    static List<Summary> of(List<String> allocators, List<TraceResult> results) {
        Set<String> sets = new LinkedHashSet<>();
        results.forEach(result -> sets.add(result.set()));
        List<Summary> summaries = new ArrayList<>();
        for (String allocator : allocators) {
            summaries.add(over(allocator, ALL, results, result -> true));
            if (sets.size() > 1) {
                for (String set : sets) {
                    summaries.add(over(allocator, set, results, result -> result.set().equals(set)));
                }
            }
        }
        return summaries;
    }

    private static Summary over(String allocator, String set, List<TraceResult> results,
            Predicate<TraceResult> inGroup) {
        List<TraceResult> mine = results.stream()
                .filter(result -> result.allocator().equals(allocator))
                .filter(inGroup)
                .toList();
        List<TraceResult> ok = mine.stream().filter(TraceResult::isOk).toList();
        List<TraceResult> timed = ok.stream().filter(result -> result.bestSeconds() != null).toList();
        double seconds = timed.stream().mapToDouble(TraceResult::bestSeconds).sum();
        long ops = timed.stream().mapToLong(TraceResult::ops).sum();
        return new Summary(allocator, set, mine.size(), mine.size() - ok.size(),
                mean(ok.stream().map(TraceResult::countedUtilization).toList()),
                seconds > 0 && ops > 0 ? ops / seconds : null,
                mean(ok.stream().map(TraceResult::index).toList()));
    }

    private static Double mean(List<Double> values) {
        OptionalDouble mean = values.stream().filter(Objects::nonNull).mapToDouble(Double::doubleValue).average();
        return mean.isPresent() ? mean.getAsDouble() : null;
    }
}
