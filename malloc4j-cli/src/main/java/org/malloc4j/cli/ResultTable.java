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
 * skipped allocators, the failures and the traces not replayed. A utilization above
 * 100% (an RSS figure that grew by less than the live bytes, or not at all) shows as
 * {@value #OVER_FULL}, with a footnote.
 */
final class ResultTable {
    private static final int MIN_NAME = 14;
    private static final int MAX_NAME = 30;
    /** The columns every line of the table fits in. */
    private static final int WIDTH = 120;
    /** What a trace's row, or a set's line in the summary, starts with under its set. */
    private static final String INDENT = "  ";
    private static final int COLUMN = 10;
    /** Room for the most requests a trace may have, {@code 16,777,216}, and a space before them. */
    private static final int OPS_COLUMN = 11;
    /** How a utilization above 100% shows. */
    static final String OVER_FULL = ">100%*";
    private static final String OVER_FULL_NOTE_1 = "* Above 100%: the footprint grew by less than the peak "
            + "live bytes. RSS growth undercounts when a trace reuses";
    private static final String OVER_FULL_NOTE_2 = "  memory the allocator held before the trace started. "
            + "The JSON keeps the measured value, or null where the footprint";
    private static final String OVER_FULL_NOTE_3 = "  did not grow at all. "
            + "The index and the mean count such a value as 100%.";

    private final ReplayReport report;
    private final List<String> allocators;
    private final Map<String, TraceResult> results = new HashMap<>();
    private final int nameWidth;
    /** The trace rows' names, fitted to {@link #nameWidth} and told apart. */
    private final CutNames rowNames;
    /** The summary's set names, the same way. */
    private final CutNames setNames;
    private final StringBuilder text = new StringBuilder();

    private ResultTable(ReplayReport report) {
        this.report = report;
        this.allocators = report.allocators().stream()
                .filter(AllocatorStatus::available).map(AllocatorStatus::name).toList();
        report.results().forEach(result -> results.put(key(result.allocator(), result.set(), result.trace()), result));
        // two columns of indent under the set's name, and two of gap
        int longest = report.traces().stream()
                .mapToInt(trace -> Units.printable(trace.name()).length() + 4).max().orElse(0);
        this.nameWidth = Math.clamp(longest, MIN_NAME, MAX_NAME);
        this.rowNames = new CutNames(report.traces().stream().map(trace -> rowName(trace.name())).toList(),
                nameWidth, INDENT.length());
        this.setNames = new CutNames(report.summaries().stream().map(summary -> rowName(summary.set())).toList(),
                nameWidth, INDENT.length());
    }

    /** @return how a row under a set names its trace, or how the summary names a set: indented */
    private static String rowName(String name) {
        return INDENT + Units.printable(name);
    }

    /**
     * @param report a run's report
     * @return the report as text, ending with a newline
     */
    static String render(ReplayReport report) {
        return new ResultTable(report).render();
    }

    private String render() {
        line("malloc4j replay: " + headline());
        if (!report.traces().isEmpty() && !allocators.isEmpty()) {
            table("Utilization: peak live bytes / peak footprint (higher is better)",
                    result -> aboveFull(result) ? OVER_FULL
                            : result.utilization() == null ? "n/a" : utilization(result.utilization(), false));
            if (report.results().stream().anyMatch(ResultTable::aboveFull)) {
                line(OVER_FULL_NOTE_1);
                line(OVER_FULL_NOTE_2);
                line(OVER_FULL_NOTE_3);
            }
            table("Throughput: Kops/s (requests per microsecond x 1000; higher is better)",
                    result -> result.opsPerSecond() == null ? "n/a" : Units.kops(result.opsPerSecond()));
            table("Peak footprint: the most the footprint grew over its value at the trace's start",
                    result -> result.peakFootprintBytes() == null ? "n/a" : Units.bytes(result.peakFootprintBytes()));
            table("Performance index: 0.6 min(1, U) + 0.4 min(1, T / T_glibc) (CS:APP; higher is better)",
                    result -> result.index() == null ? "n/a" : Units.fraction(result.index()));
            summaries();
            footprints();
            downcalls();
        }
        skipped();
        failures();
        errors();
        return text.toString();
    }

    /** @return what ran: {@code 12 traces, 6 allocators, fastest of 3 timed passes per trace} */
    private String headline() {
        if (report.traces().isEmpty()) {
            return "no trace could be replayed";
        }
        String traces = Units.plural(report.traces().size(), "trace");
        if (allocators.isEmpty()) {
            return traces + ", but no allocator could run";
        }
        return traces + ", " + Units.plural(allocators.size(), "allocator") + ", fastest of "
                + Units.plural(report.repeat(), "timed pass", "timed passes") + " per trace";
    }

    /**
     * @param ratio a utilization
     * @param mark whether to mark it as a figure that includes one above 100%
     * @return it as a percentage; above 100% only as {@value #OVER_FULL}
     */
    private static String utilization(double ratio, boolean mark) {
        return ratio > 1 ? OVER_FULL : Units.percent(ratio) + (mark ? "*" : "");
    }

    /** @return whether a correct result's utilization is above 100%: its footprint grew by less than the live bytes */
    private static boolean aboveFull(TraceResult result) {
        return result.grewLessThanLive();
    }

    private void table(String title, Function<TraceResult, String> cell) {
        line("");
        line(title);
        StringBuilder header = new StringBuilder(pad("trace", nameWidth))
                .append(right("ops", OPS_COLUMN)).append(right("peak live", COLUMN));
        allocators.forEach(allocator -> header.append(right(allocator, COLUMN)));
        line(header.toString());
        for (Map.Entry<String, List<TraceInfo>> set : bySet().entrySet()) {
            // A set's folder may be named by a long path: cut in its middle, as a row's name is.
            line(CutNames.cut(Units.printable(set.getKey()), WIDTH + 1));
            for (TraceInfo trace : set.getValue()) {
                StringBuilder row = new StringBuilder(pad(rowNames.of(rowName(trace.name())), nameWidth))
                        .append(right(Units.count(trace.ops()), OPS_COLUMN))
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
                    + pad(all ? Summary.ALL : setNames.of(rowName(summary.set())), nameWidth)
                    + right(Integer.toString(summary.traces()), COLUMN)
                    + right(Integer.toString(summary.failed()), COLUMN)
                    + right(summary.meanUtilization() == null ? "n/a"
                            : utilization(summary.meanUtilization(), includesAboveFull(summary)), COLUMN)
                    + right(summary.opsPerSecond() == null ? "n/a" : Units.kops(summary.opsPerSecond()), COLUMN)
                    + right(summary.meanIndex() == null ? "n/a" : Units.fraction(summary.meanIndex()), COLUMN + 1));
        }
        if (report.summaries().stream().anyMatch(this::includesAboveFull)) {
            line("* The mean counts a utilization above 100% as 100% (see the note under the utilization table).");
        }
    }

    /** @return whether a summary's mean utilization includes one above 100% */
    private boolean includesAboveFull(Summary summary) {
        return report.results().stream()
                .filter(result -> result.allocator().equals(summary.allocator()))
                .filter(result -> summary.set().equals(Summary.ALL) || result.set().equals(summary.set()))
                .anyMatch(ResultTable::aboveFull);
    }

    private void footprints() {
        line("");
        line("Footprint of each allocator (sampled after every request that allocates, in a checked pass of its own):");
        report.allocators().stream().filter(AllocatorStatus::available)
                .forEach(status -> line("  " + pad(status.name(), COLUMN) + (status.footprintSource() != null
                        ? status.footprintSource() : "unknown (see FAILED replays)")));
    }

    private void downcalls() {
        if (report.allocators().stream().anyMatch(status -> status.available()
                && AllocatorCatalog.NATIVE.contains(status.name()))) {
            line("");
            line("Native allocators called through " + DowncallLinkage.of(report.downcalls()).description()
                    + "; see --downcalls");
        }
    }

    private void skipped() {
        List<AllocatorStatus> skipped = report.allocators().stream().filter(status -> !status.available()).toList();
        // with no trace read, no allocator was tried: the headline says so once
        if (!skipped.isEmpty() && !report.traces().isEmpty()) {
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
            Map<String, List<TraceResult>> byAllocator = new LinkedHashMap<>();
            failed.forEach(result -> byAllocator.computeIfAbsent(result.allocator(), a -> new ArrayList<>())
                    .add(result));
            byAllocator.forEach((allocator, mine) -> {
                if (failedAllAlike(mine)) {
                    // a worker that could not start fails every trace the same way: once is enough
                    line("  " + allocator + " on all " + mine.size() + " traces: " + mine.getFirst().failure());
                } else {
                    mine.forEach(result -> line("  " + allocator + " on " + result.set() + "/" + result.trace()
                            + ": " + result.failure()));
                }
            });
        }
    }

    /** @return whether an allocator's failures cover every trace, with one reason and no op to tell them apart */
    private boolean failedAllAlike(List<TraceResult> failed) {
        String failure = failed.getFirst().failure();
        return failed.size() > 1 && failed.size() == report.traces().size()
                && failed.stream().allMatch(result -> result.failedOp() == null && failure.equals(result.failure()));
    }

    private void errors() {
        if (!report.errors().isEmpty()) {
            line("");
            line("Traces not replayed:");
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

    /** Adds a line; the names and messages in it cannot put control characters on the terminal. */
    private void line(String line) {
        text.append(Units.printable(line.stripTrailing())).append('\n');
    }

    private static String key(String allocator, String set, String trace) {
        return allocator + "|" + set + "|" + trace;
    }

    /** Left-aligned in {@code width} columns, cut in the middle if longer ({@link CutNames#cut}). */
    private static String pad(String value, int width) {
        String cut = CutNames.cut(value, width);
        return cut + " ".repeat(width - cut.length());
    }

    /** Right-aligned in {@code width} columns. */
    private static String right(String value, int width) {
        return value.length() >= width ? " " + value : " ".repeat(width - value.length()) + value;
    }
}
