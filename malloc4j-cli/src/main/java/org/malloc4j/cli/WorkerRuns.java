package org.malloc4j.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the replays of every allocator, one worker JVM after the other: per allocator a worker that
 * replays all traces, then, for an allocator whose footprint needs a process of its own, a worker
 * per trace that measures only the footprint. A trace a worker did not finish (it crashed, or its
 * JVM could not even start) becomes a FAILED result that says how the worker ended.
 */
final class WorkerRuns {
    /**
     * What the workers reported.
     *
     * @param statuses per allocator asked for: whether it ran
     * @param results per allocator that ran and trace: the result
     */
    record Outcome(List<AllocatorStatus> statuses, List<TraceResult> results) {
    }

    /** What a worker that died before it opened its allocator had not done yet. */
    private static final String BEFORE_OPENING = "before it opened the allocator";

    private final WorkerLauncher launcher;
    private final Progress progress;

    /**
     * @param repeat timed passes per trace
     * @param linkage how the workers link the native allocators
     * @param progress the progress counter on standard error, where what workers print goes too
     */
    WorkerRuns(int repeat, DowncallLinkage linkage, Progress progress) {
        this.launcher = new WorkerLauncher(repeat, linkage, progress);
        this.progress = progress;
    }

    /**
     * @param allocators the allocators, in order
     * @param sources the traces, all known to parse
     * @param traces the same traces' listings, in the same order
     * @return what the workers reported
     */
    Outcome run(List<String> allocators, List<TraceSource> sources, List<TraceInfo> traces) {
        List<AllocatorStatus> statuses = new ArrayList<>();
        List<TraceResult> results = new ArrayList<>();
        long heapMiB = WorkerLauncher.heapMiB(traces);
        for (int i = 0; i < allocators.size(); i++) {
            String name = allocators.get(i);
            String label = (i + 1) + "/" + allocators.size() + " " + name;
            progress.show(label, "starting");
            WorkerLauncher.Run run = launcher.run(name, sources, heapMiB, false,
                    trace -> progress.show(label, "trace " + trace.index() + "/" + trace.count() + " " + trace.trace()));
            AllocatorStatus status = statusOf(name, run);
            statuses.add(status);
            if (status.available()) {
                List<TraceResult> mine = complete(name, traces, run);
                results.addAll(status.footprintInOwnProcess()
                        ? withOwnProcessFootprints(label, mine, sources, traces) : mine);
            }
        }
        progress.done();
        return new Outcome(statuses, results);
    }

    private static AllocatorStatus statusOf(String name, WorkerLauncher.Run run) {
        return run.status() != null ? run.status()
                : new AllocatorStatus(name, true, run.stopped(BEFORE_OPENING), null, false);
    }

    /** The worker's results, in trace order, with a FAILED result for every trace it did not finish. */
    private static List<TraceResult> complete(String allocator, List<TraceInfo> traces, WorkerLauncher.Run run) {
        Map<String, TraceResult> byTrace = new HashMap<>();
        run.results().forEach(result -> byTrace.put(result.set() + "/" + result.trace(), result));
        String noResult = "no result: " + (run.status() == null ? run.stopped(BEFORE_OPENING)
                : run.stopped("before finishing this trace (a crash in the allocator?)"));
        return traces.stream()
                .map(trace -> byTrace.getOrDefault(trace.set() + "/" + trace.name(),
                        TraceResult.failed(allocator, trace.name(), trace.set(), trace.ops(), trace.peakLiveBytes(),
                                null, noResult)))
                .toList();
    }

    /** Replaces each correct result's footprint with one measured in a fresh worker for that trace alone. */
    private List<TraceResult> withOwnProcessFootprints(String label, List<TraceResult> results,
            List<TraceSource> sources, List<TraceInfo> traces) {
        List<TraceResult> measured = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            TraceResult result = results.get(i);
            if (!result.isOk()) {
                measured.add(result);
                continue;
            }
            progress.show(label, "footprint " + (i + 1) + "/" + results.size() + " " + result.trace());
            WorkerLauncher.Run run = launcher.run(result.allocator(), List.of(sources.get(i)),
                    WorkerLauncher.heapMiB(List.of(traces.get(i))), true, trace -> { });
            TraceResult footprint = run.results().isEmpty() ? null : run.results().getFirst();
            if (footprint == null) {
                measured.add(TraceResult.failed(result.allocator(), result.trace(), result.set(), result.ops(),
                        result.peakLiveBytes(), null, "no result: in the footprint pass, "
                                + run.stopped("before it measured the footprint")));
            } else {
                measured.add(footprint.isOk() ? result.withFootprint(footprint.peakFootprintBytes()) : footprint);
            }
        }
        return measured;
    }
}
