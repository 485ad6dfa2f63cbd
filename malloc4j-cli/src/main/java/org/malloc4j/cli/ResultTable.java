package org.malloc4j.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Writes a {@link ReplayReport} for the terminal, within 120 columns: four tables with a row per
 * trace (grouped by set) and a column per allocator — utilization, throughput, peak footprint,
 * performance index — then a summary per allocator, what each footprint figure measures, the
 * skipped allocators, the failures and the traces that did not parse.
 */
final class ResultTable {
    private static final int MIN_NAME = 14;
    private static final int MAX_NAME = 30;
    private static final int COLUMN = 10;

    private final ReplayReport report;
    private final List<String> allocators;
    private final Map<String, TraceResult> results = new HashMap<>();
    private final int nameWidth;
    private final StringBuilder text = new StringBuilder();

    private ResultTable(ReplayReport report) {
        this.report = report;
        this.allocators = report.allocators().stream()
                .filter(AllocatorStatus::available).map(AllocatorStatus::name).toList();
        report.results().forEach(result -> results.put(key(result.allocator(), result.set(), result.trace()), result));
        // two columns of indent under the set's name, and two of gap
        int longest = report.traces().stream().mapToInt(trace -> trace.name().length() + 4).max().orElse(0);
        this.nameWidth = Math.clamp(longest, MIN_NAME, MAX_NAME);
    }

    /**
     * @param report a run's report
     * @return the report as text, ending with a newline
     */
    static String render(ReplayReport report) {
        return new ResultTable(report).render();
    }

    private String render() {
        line("malloc4j replay: " + report.traces().size() + " traces, " + allocators.size()
                + " allocators, fastest of " + report.repeat() + " timed passes per trace");
        if (!report.traces().isEmpty() && !allocators.isEmpty()) {
            table("Utilization: peak live bytes / peak footprint (higher is better)",
                    result -> result.utilization() == null ? "n/a" : Units.percent(result.utilization()));
            table("Throughput: Kops/s (requests per microsecond x 1000; higher is better)",
                    result -> result.opsPerSecond() == null ? "n/a" : Units.kops(result.opsPerSecond()));
            table("Peak footprint: the most the footprint grew over its value at the trace's start",
                    result -> result.peakFootprintBytes() == null ? "n/a" : Units.bytes(result.peakFootprintBytes()));
            table("Performance index: 0.6 min(1, U) + 0.4 min(1, T / T_glibc) (CS:APP; higher is better)",
                    result -> result.index() == null ? "n/a" : Units.fraction(result.index()));
            summaries();
            footprints();
        }
        skipped();
        failures();
        errors();
        return text.toString();
    }

    private void table(String title, Function<TraceResult, String> cell) {
        line("");
        line(title);
        StringBuilder header = new StringBuilder(pad("trace", nameWidth))
                .append(right("ops", COLUMN)).append(right("peak live", COLUMN));
        allocators.forEach(allocator -> header.append(right(allocator, COLUMN)));
        line(header.toString());
        for (Map.Entry<String, List<TraceInfo>> set : bySet().entrySet()) {
            line(set.getKey());
            for (TraceInfo trace : set.getValue()) {
                StringBuilder row = new StringBuilder(pad("  " + trace.name(), nameWidth))
                        .append(right(Units.count(trace.ops()), COLUMN))
                        .append(right(Units.bytes(trace.peakLiveBytes()), COLUMN));
                for (String allocator : allocators) {
                    TraceResult result = results.get(key(allocator, trace.set(), trace.name()));
                    row.append(right(result == null ? "-" : result.isOk() ? cell.apply(result) : TraceResult.FAILED,
                            COLUMN));
                }
                line(row.toString());
            }
        }
    }

    private void summaries() {
        line("");
        line("Summary (means over correct replays; Kops/s = total requests / total time)");
        line(pad("allocator", COLUMN) + pad("traces of", nameWidth) + right("replays", COLUMN) + right("FAILED", COLUMN)
                + right("mean util", COLUMN) + right("Kops/s", COLUMN) + right("mean index", COLUMN + 1));
        for (Summary summary : report.summaries()) {
            boolean all = summary.set().equals(Summary.ALL);
            line(pad(all ? summary.allocator() : "", COLUMN)
                    + pad(all ? Summary.ALL : "  " + summary.set(), nameWidth)
                    + right(Integer.toString(summary.traces()), COLUMN)
                    + right(Integer.toString(summary.failed()), COLUMN)
                    + right(summary.meanUtilization() == null ? "n/a" : Units.percent(summary.meanUtilization()), COLUMN)
                    + right(summary.opsPerSecond() == null ? "n/a" : Units.kops(summary.opsPerSecond()), COLUMN)
                    + right(summary.meanIndex() == null ? "n/a" : Units.fraction(summary.meanIndex()), COLUMN + 1));
        }
    }

    private void footprints() {
        line("");
        line("Footprint of each allocator (sampled after every request that allocates, in a checked pass of its own):");
        report.allocators().stream().filter(AllocatorStatus::available)
                .forEach(status -> line("  " + pad(status.name(), COLUMN) + status.footprintSource()));
    }

    private void skipped() {
        List<AllocatorStatus> skipped = report.allocators().stream().filter(status -> !status.available()).toList();
        if (!skipped.isEmpty()) {
            line("");
            line("Skipped:");
            skipped.forEach(status -> line("  " + pad(status.name(), COLUMN) + status.reason()));
        }
    }

    private void failures() {
        List<TraceResult> failed = report.results().stream().filter(result -> !result.isOk()).toList();
        if (!failed.isEmpty()) {
            line("");
            line("FAILED replays:");
            failed.forEach(result -> line("  " + result.allocator() + " on " + result.set() + "/" + result.trace()
                    + ": " + result.failure()));
        }
    }

    private void errors() {
        if (!report.errors().isEmpty()) {
            line("");
            line("Traces that did not parse (not replayed):");
            report.errors().forEach(error -> line("  " + error.message()));
        }
    }

    private Map<String, List<TraceInfo>> bySet() {
        Map<String, List<TraceInfo>> sets = new LinkedHashMap<>();
        for (TraceInfo trace : report.traces()) {
            sets.computeIfAbsent(trace.set(), set -> new ArrayList<>()).add(trace);
        }
        return sets;
    }

    private void line(String line) {
        text.append(line.stripTrailing()).append('\n');
    }

    private static String key(String allocator, String set, String trace) {
        return allocator + "|" + set + "|" + trace;
    }

    /** Left-aligned in {@code width} columns, cut with "~" if longer. */
    private static String pad(String value, int width) {
        String cut = value.length() >= width ? value.substring(0, width - 2) + "~" : value;
        return cut + " ".repeat(width - cut.length());
    }

    /** Right-aligned in {@code width} columns. */
    private static String right(String value, int width) {
        return value.length() >= width ? " " + value : " ".repeat(width - value.length()) + value;
    }
}
