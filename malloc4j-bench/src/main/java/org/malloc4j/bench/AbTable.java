package org.malloc4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * The table {@code malloc4j-bench/ab} prints: two builds of the benchmarks jar, A (the baseline)
 * and B, measured in alternating single-fork runs, one A run and one B run a round. For each
 * benchmark, parameter set and mode it gives each round's two scores, their ratio B/A, the machine's
 * speed before each run ({@link MachineSpeed}'s median), and the median of the ratios: over all
 * rounds, and over the rounds whose two runs the machine began at one speed (B's probe within
 * {@link #SAME_SPEED} of A's). The machines this is measured on switch between two speeds
 * every few seconds to minutes (README, "Two speeds"), so a ratio of scores taken at different
 * speeds says more about the machine than about the builds.
 *
 * <pre>java -cp benchmarks.jar org.malloc4j.bench.AbTable DIR</pre>
 *
 * DIR holds {@code round-N-a.json} and {@code round-N-b.json} (JMH's {@code -rf json}) for N = 1, 2,
 * ..., and beside each the probe's line in {@code round-N-a.speed} and {@code round-N-b.speed}
 * (optional: a round without both counts as not at one speed).
 */
public final class AbTable {
    /** B's probe this far from A's, relative to A's, counts as one speed: well under the gap between the two speeds (20-40 %, README "Two speeds"). */
    static final double SAME_SPEED = 0.05;
    private static final Pattern SPEED = Pattern.compile("machine speed: ([0-9.]+) ns per iteration");

    private AbTable() {
    }

    /** One single-fork run: its results by benchmark and parameters, and the machine's speed before it (NaN if unknown). */
    record Run(Map<String, RatioTable.Row> rows, double speedNs) {
    }

    /** The command line, parsed by picocli; {@link #call} prints the table. */
    @Command(name = "AbTable", usageHelpWidth = 100, description = {
        "The table malloc4j-bench/ab prints: for each benchmark, parameter set and mode, each round's scores of"
                + " the two builds, their ratio B/A, the machine's speed before each run, and the median ratio over"
                + " all rounds and over the rounds at one speed.",
        "Exit: 0 with a table; 1 when no run measured anything or a file is not JMH's JSON; 2 for bad arguments."})
    static final class Options extends ToolCommand {
        @Parameters(paramLabel = "DIR", description = "Holds round-N-a.json and round-N-b.json (JMH's -rf json) for"
                + " N = 1, 2, ..., and beside each the probe's line in round-N-a.speed and round-N-b.speed"
                + " (optional: a round without both counts as not at one speed).")
        Path dir;

        @Override
        public Integer call() {
            if (!Files.isDirectory(dir)) {
                throw refused(dir + " is not a directory");
            }
            String table;
            try {
                table = table(dir);
            } catch (IOException e) {
                err().println("AbTable: " + e.getMessage());
                return 1;
            }
            out().print(table);
            return table.equals(RatioTable.NO_RESULTS) ? 1 : 0;
        }
    }

    public static void main(String[] args) {
        ToolCommandLine.exit(new Options(), args);
    }

    /** @return the table of the rounds in {@code dir}, or {@link RatioTable#NO_RESULTS} */
    private static String table(Path dir) throws IOException {
        List<Run> a = new ArrayList<>();
        List<Run> b = new ArrayList<>();
        for (int round = 1; Files.exists(dir.resolve("round-" + round + "-a.json"))
                || Files.exists(dir.resolve("round-" + round + "-b.json")); round++) {
            a.add(read(dir, round, "a"));
            b.add(read(dir, round, "b"));
        }
        return render(a, b);
    }

    private static Run read(Path dir, int round, String side) throws IOException {
        Path json = dir.resolve("round-" + round + "-" + side + ".json");
        Path speed = dir.resolve("round-" + round + "-" + side + ".speed");
        String results = Files.isRegularFile(json) ? Files.readString(json) : "";
        try {
            return run(results, Files.isRegularFile(speed) ? Files.readString(speed) : "");
        } catch (RuntimeException e) {
            throw new IOException(json + " holds no JMH results that can be read: " + e.getMessage(), e);
        }
    }

    /**
     * @param json one run's JMH results (empty if the run left none)
     * @param speedLine {@link MachineSpeed}'s line before the run (empty if none)
     * @return the run
     */
    static Run run(String json, String speedLine) {
        Map<String, RatioTable.Row> rows = new LinkedHashMap<>();
        if (!json.isBlank()) {
            for (RatioTable.Row row : RatioTable.rows(json)) {
                // A run with -bm avgt,thrpt holds a time and a rate for each benchmark: a table each.
                rows.put(row.className() + "." + row.peer() + (row.params().isEmpty() ? "" : "  [" + row.params() + "]")
                        + (row.mode().equals("avgt") ? "" : "  " + row.mode()), row);
            }
        }
        Matcher m = SPEED.matcher(speedLine);
        return new Run(rows, m.find() ? Double.parseDouble(m.group(1)) : Double.NaN);
    }

    /**
     * @param a the baseline's runs, round by round
     * @param b the other build's runs, in the same rounds
     * @return the tables as text, or {@link RatioTable#NO_RESULTS}
     */
    static String render(List<Run> a, List<Run> b) {
        List<String> keys = new ArrayList<>();
        for (List<Run> side : List.of(a, b)) {
            for (Run run : side) {
                for (String key : run.rows().keySet()) {
                    if (!keys.contains(key)) {
                        keys.add(key);
                    }
                }
            }
        }
        if (keys.isEmpty()) {
            return RatioTable.NO_RESULTS;
        }
        StringBuilder out = new StringBuilder();
        for (String key : keys) {
            table(out, key, a, b);
        }
        return out.toString();
    }

    private static void table(StringBuilder out, String key, List<Run> a, List<Run> b) {
        String unit = unitOf(key, a, b);
        out.append(key).append("  (").append(unit).append("; B/A under 1: B scored less)\n");
        out.append(String.format(Locale.ROOT, "  %-6s %12s %12s %8s   %s%n", "round", "A", "B", "B/A",
                "machine speed before A / B (ns)"));
        List<Double> all = new ArrayList<>();
        List<Double> steady = new ArrayList<>();
        for (int r = 0; r < a.size(); r++) {
            RatioTable.Row rowA = a.get(r).rows().get(key);
            RatioTable.Row rowB = b.get(r).rows().get(key);
            double scoreA = rowA == null ? Double.NaN : rowA.score();
            double scoreB = rowB == null ? Double.NaN : rowB.score();
            double ratio = scoreB / scoreA;
            boolean oneSpeed = oneSpeed(a.get(r).speedNs(), b.get(r).speedNs());
            if (!Double.isNaN(ratio)) {
                all.add(ratio);
                if (oneSpeed) {
                    steady.add(ratio);
                }
            }
            out.append(String.format(Locale.ROOT, "  %-6d %12s %12s %8s   %s / %s%s%n", r + 1, RatioTable.number(scoreA),
                    RatioTable.number(scoreB), Double.isNaN(ratio) ? "-" : String.format(Locale.ROOT, "%.3f", ratio),
                    speed(a.get(r).speedNs()), speed(b.get(r).speedNs()), speedNote(a.get(r).speedNs(), b.get(r).speedNs())));
        }
        out.append(String.format(Locale.ROOT, "  median B/A %s over %d round%s; %s over the %d at one speed%n%n",
                median(all), all.size(), all.size() == 1 ? "" : "s", median(steady), steady.size()));
    }

    /** @return what the round's line says of its two probes: nothing at one speed, else why not */
    private static String speedNote(double speedA, double speedB) {
        if (Double.isNaN(speedA) || Double.isNaN(speedB)) {
            return "  (no probe)";
        }
        return oneSpeed(speedA, speedB) ? "" : "  (speed moved)";
    }

    /** @return whether two probes' medians lie within {@link #SAME_SPEED} of the first; false if either is unknown */
    static boolean oneSpeed(double speedA, double speedB) {
        return !Double.isNaN(speedA) && !Double.isNaN(speedB) && Math.abs(speedB - speedA) <= SAME_SPEED * speedA;
    }

    /** @return the median of {@code ratios} to three decimals, or "-" for none */
    static String median(List<Double> ratios) {
        if (ratios.isEmpty()) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.3f", Median.of(ratios.stream().mapToDouble(Double::doubleValue).toArray()));
    }

    private static String unitOf(String key, List<Run> a, List<Run> b) {
        for (List<Run> side : List.of(a, b)) {
            for (Run run : side) {
                RatioTable.Row row = run.rows().get(key);
                if (row != null) {
                    return row.unit();
                }
            }
        }
        return "?";
    }

    private static String speed(double ns) {
        return Double.isNaN(ns) ? "-" : String.format(Locale.ROOT, "%.3f", ns);
    }

    private static String number(double value) {
        return Double.isNaN(value) ? "-" : RatioTable.number(value);
    }
}
