package org.malloc4j.cli;

import java.util.List;

/**
 * Everything a {@code replay} run found, as {@code --json} writes it.
 *
 * @param repeat the number of timed passes per trace (the fastest counts)
 * @param downcalls the {@code --downcalls} given, {@code critical} or {@code standard}: how the
 *     native allocators of the run were linked (whether or not one ran)
 * @param allocators every allocator asked for: whether it ran, why not, what its footprint measures
 * @param traces the traces that parsed
 * @param errors the traces that did not
 * @param results a result per allocator that ran and trace that parsed
 * @param summaries per allocator: all traces, then each trace set if there are several
 * @param exitCode the run's exit code: 0 if every replay was correct, 1 if not (or nothing ran)
 */
public record ReplayReport(int repeat, String downcalls, List<AllocatorStatus> allocators, List<TraceInfo> traces,
        List<TraceError> errors, List<TraceResult> results, List<Summary> summaries, int exitCode) {

    /** Exit code of a run in which every trace parsed and every allocator was right. */
    public static final int CORRECT = 0;
    /** Exit code of a run in which a trace did not parse, an allocator FAILED, or no allocator ran. */
    public static final int INCORRECT = 1;

    /**
     * Completes a run's findings: the performance index of each result, the summaries, the exit code.
     *
     * @return the report
     */
    static ReplayReport of(int repeat, List<AllocatorStatus> allocators, List<TraceInfo> traces,
            List<TraceError> errors, List<TraceResult> results) {
        return of(repeat, DowncallLinkage.CRITICAL, allocators, traces, errors, results);
    }

    /**
     * {@link #of(int, List, List, List, List)} for natives linked as {@code linkage} says.
     *
     * @return the report
     */
    static ReplayReport of(int repeat, DowncallLinkage linkage, List<AllocatorStatus> allocators,
            List<TraceInfo> traces, List<TraceError> errors, List<TraceResult> results) {
        List<TraceResult> indexed = PerformanceIndex.apply(results);
        List<String> ran = allocators.stream().filter(AllocatorStatus::available).map(AllocatorStatus::name).toList();
        boolean correct = errors.isEmpty() && !ran.isEmpty() && indexed.stream().allMatch(TraceResult::isOk);
        return new ReplayReport(repeat, linkage.option(), List.copyOf(allocators), List.copyOf(traces),
                List.copyOf(errors),
                indexed, Summary.of(ran, indexed), correct ? CORRECT : INCORRECT);
    }
}
