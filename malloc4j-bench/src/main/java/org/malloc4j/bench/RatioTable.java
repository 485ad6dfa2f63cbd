package org.malloc4j.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.openjdk.jmh.annotations.Group;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * Prints JMH's JSON results ({@code -rf json}) as ratio tables: for each benchmark class, each
 * combination of parameters and each mode ({@code -bm}), every peer's score and that score divided by
 * the score of each of the class's {@link Baseline} methods (malloc4j raw and malloc4j segment, in
 * most classes).
 *
 * <pre>java -cp benchmarks.jar org.malloc4j.bench.RatioTable results.json [more.json ...]</pre>
 *
 * A ratio is the peer's time over the baseline's time (for throughput scores, the baseline's rate
 * over the peer's): 2.00 means the peer takes twice as long as the baseline, 0.50 half as long.
 *
 * <p>The native reference ({@code malloc4j-bench/native}) writes rows of the same shape, marked
 * {@code "nativeReference": true}, into the same classes and parameters, so its C timings join the
 * Java benchmarks' tables. A table that would hold only native rows is left out when the results
 * also hold Java benchmarks: the JMH run did not measure that class or parameter set.
 *
 * <p>A file that is not JMH's JSON is named on standard error with what is wrong with it; the
 * tables of the other files are still printed, and the exit status is 1.
 */
public final class RatioTable {
    /** What {@link #render} gives when no document holds a result. */
    static final String NO_RESULTS = "no results\n";

    private RatioTable() {
    }

    /** One JMH result row. */
    record Row(String className, String peer, String params, String mode, double score, double error, String unit,
            boolean nativeReference) {
    }

    /** The command line, parsed by picocli; {@link #call} prints the tables. */
    @Command(name = "RatioTable", usageHelpWidth = 100, description = {
        "Prints JMH's results as ratio tables: for each benchmark class, parameter set and mode, every peer's"
                + " score and that score over the score of each of the class's baselines.",
        "A file that is not JMH's JSON is named on standard error with what is wrong with it, and the tables of"
                + " the others are printed. Exit: 0 with the tables; 1 when a file could not be read or nothing"
                + " was measured; 2 for bad arguments (an unknown option among them)."})
    static final class Options extends ToolCommand {
        @Parameters(arity = "1..*", paramLabel = "RESULT.json",
                description = "JMH's results, written with -rf json, or the native reference's.")
        List<String> files;

        @Override
        public Integer call() {
            // Before any file is read, so that a misspelt option prints the usage and nothing else.
            files.forEach(this::refuseUnknownOption);
            PrintWriter err = err();
            List<List<Row>> documents = new ArrayList<>();
            boolean unreadable = false;
            for (String file : files) {
                Path path = Path.of(file);
                try {
                    if (!Files.isRegularFile(path)) {
                        err.println("RatioTable: " + file + " is not a file");
                        unreadable = true;
                    } else if (Files.size(path) == 0) {
                        err.println("RatioTable: no results in " + file + " (it is empty)");
                    } else {
                        documents.add(rows(Files.readString(path)));
                    }
                } catch (IOException | RuntimeException e) {
                    err.println("RatioTable: " + file + " holds no JMH results that can be read: " + why(e));
                    unreadable = true;
                }
            }
            String table = renderRows(documents);
            out().print(table);
            // A run that measured nothing (every benchmark failed, or none matched) is no success, and
            // neither is a table that leaves out a file it was given.
            return unreadable || table.equals(NO_RESULTS) ? 1 : 0;
        }
    }

    public static void main(String[] args) {
        ToolCommandLine.exit(new Options(), args);
    }

    /** @return why a file could not be read, in words for its user rather than a stack trace */
    static String why(Throwable e) {
        if (e instanceof CharacterCodingException) {
            return "it is not UTF-8 text";
        }
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }

    /**
     * @param json one JMH result document ({@code -rf json}, or the native reference's output)
     * @return its rows, in its order
     * @throws IllegalArgumentException if {@code json} is not JSON, or not JMH's shape: an array of
     *     results, each with a qualified benchmark name, a mode and a primary metric with a unit
     */
    static List<Row> rows(String json) {
        List<Map<?, ?>> results = results(json);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            try {
                rows.add(row(results.get(i)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("result " + (i + 1) + " " + e.getMessage(), e);
            }
        }
        return rows;
    }

    /**
     * @param json one JMH result document
     * @return its results, each a JSON object, in its order
     * @throws IllegalArgumentException if {@code json} is not JSON, its top level is not an array,
     *     or an element is not an object (named by its place, from 1)
     */
    static List<Map<?, ?>> results(String json) {
        if (!(Json.parse(json) instanceof List<?> items)) {
            throw new IllegalArgumentException("the top level is not an array of results");
        }
        List<Map<?, ?>> results = new ArrayList<>();
        for (Object item : items) {
            if (!(item instanceof Map<?, ?> result)) {
                throw new IllegalArgumentException("result " + (results.size() + 1) + " is not an object");
            }
            results.add(result);
        }
        return results;
    }

    /**
     * @param jsons JMH's JSON results, one document per run
     * @return the tables as text
     * @throws IllegalArgumentException if a document is not JMH's shape (see {@link #rows})
     */
    public static String render(List<String> jsons) {
        return renderRows(jsons.stream().map(RatioTable::rows).toList());
    }

    /**
     * A table holds one mode's scores: with {@code -bm avgt,thrpt} a benchmark has a time per
     * operation and a rate, and a ratio of one to the other means nothing.
     *
     * @param documents the rows of each document
     * @return the tables as text
     */
    static String renderRows(List<List<Row>> documents) {
        Map<String, Map<String, List<Row>>> sections = new LinkedHashMap<>();
        boolean anyJava = false;
        for (List<Row> document : documents) {
            for (Row row : document) {
                anyJava |= !row.nativeReference();
                sections.computeIfAbsent(row.className(), k -> new LinkedHashMap<>())
                        .computeIfAbsent(row.mode() + " " + row.params(), k -> new ArrayList<>()).add(row);
            }
        }
        if (anyJava) {
            for (Map<String, List<Row>> byParams : sections.values()) {
                byParams.values().removeIf(rows -> rows.stream().allMatch(Row::nativeReference));
            }
            sections.values().removeIf(Map::isEmpty);
        }
        StringBuilder out = new StringBuilder();
        if (sections.isEmpty()) {
            return NO_RESULTS;
        }
        for (Map.Entry<String, Map<String, List<Row>>> section : sections.entrySet()) {
            List<String> baselines = baselines(section.getKey());
            String shortName = section.getKey().substring(section.getKey().lastIndexOf("bench.") + "bench.".length());
            for (List<Row> rows : section.getValue().values()) {
                table(out, shortName, rows, baselines);
            }
        }
        out.append("ratio = peer's time / baseline's time: 2.00 = the peer takes twice as long as the baseline,\n")
                .append("0.50 = half as long. '-' = not available (baseline missing; error needs 3+ iterations).\n");
        return out.toString();
    }

    private static void table(StringBuilder out, String name, List<Row> rows, List<String> baselines) {
        // Fastest first: the lowest time, or for a rate (thrpt) the highest.
        Comparator<Row> fastest = Comparator.comparingDouble(Row::score);
        rows.sort(rows.get(0).mode().equals("thrpt") ? fastest.reversed() : fastest);
        Map<String, Row> byPeer = new LinkedHashMap<>();
        for (Row row : rows) {
            byPeer.put(row.peer(), row);
        }
        int width = Math.max(20, rows.stream().mapToInt(r -> r.peer().length()).max().orElse(0) + 2);
        Row first = rows.get(0);
        // Average time, the suite's mode, goes by its unit alone, as it always has.
        String mode = first.mode().equals("avgt") ? "" : first.mode() + ", ";
        out.append(name).append(first.params().isEmpty() ? "" : "  [" + first.params() + "]").append("  (").append(mode)
                .append(first.unit()).append(")\n");
        out.append(String.format(Locale.ROOT, "  %-" + width + "s %12s %10s", "peer", "score", "± error"));
        for (String baseline : baselines) {
            out.append(String.format(Locale.ROOT, " %" + Math.max(10, baseline.length() + 3) + "s", "/ " + baseline));
        }
        out.append('\n');
        for (Row row : rows) {
            out.append(String.format(Locale.ROOT, "  %-" + width + "s %12s %10s", row.peer(), number(row.score()),
                    number(row.error())));
            for (String baseline : baselines) {
                Row base = byPeer.get(baseline);
                String ratio = base == null ? "-" : ratioText(ratio(row, base));
                out.append(String.format(Locale.ROOT, " %" + Math.max(10, baseline.length() + 3) + "s", ratio));
            }
            out.append('\n');
        }
        out.append('\n');
    }

    /** @return the peer's time over the baseline's time, whatever the mode */
    static double ratio(Row peer, Row baseline) {
        boolean rate = peer.mode().equals("thrpt");
        return rate ? baseline.score() / peer.score() : peer.score() / baseline.score();
    }

    private static String ratioText(double ratio) {
        if (Double.isNaN(ratio) || Double.isInfinite(ratio)) {
            return "-";
        }
        String format = ratio >= 100 ? "%,.0f" : ratio >= 0.1 ? "%.2f" : "%.3f";
        return String.format(Locale.ROOT, format, ratio);
    }

    static String number(double value) {
        if (Double.isNaN(value)) {
            return "-";
        }
        double magnitude = Math.abs(value);
        String format = magnitude >= 1000 ? "%,.0f" : magnitude >= 100 ? "%.1f" : magnitude >= 10 ? "%.2f" : "%.3f";
        return String.format(Locale.ROOT, format, value);
    }

    /**
     * @return the row of one JMH result
     * @throws IllegalArgumentException (its message to follow "result N") if a field the tables need
     *     is missing or of another type
     */
    static Row row(Map<?, ?> result) {
        if (!(result.get("benchmark") instanceof String benchmark) || benchmark.indexOf('.') <= 0) {
            throw new IllegalArgumentException("has no qualified benchmark name");
        }
        if (!(result.get("mode") instanceof String mode)) {
            throw new IllegalArgumentException("(" + benchmark + ") has no mode");
        }
        if (!(result.get("primaryMetric") instanceof Map<?, ?> primary) || !(primary.get("scoreUnit") instanceof String unit)) {
            throw new IllegalArgumentException("(" + benchmark + ") has no primary metric with a unit");
        }
        Object params = result.get("params");
        if (params != null && !(params instanceof Map<?, ?>)) {
            throw new IllegalArgumentException("(" + benchmark + ") has parameters that are not an object");
        }
        int dot = benchmark.lastIndexOf('.');
        return new Row(benchmark.substring(0, dot), benchmark.substring(dot + 1),
                params == null ? "" : paramText((Map<?, ?>) params), mode,
                number(primary.get("score")), number(primary.get("scoreError")), unit,
                Boolean.TRUE.equals(result.get("nativeReference")));
    }

    /** @return a result's parameters as the tables show them, by name: {@code blockSize=64 size=mixed} */
    static String paramText(Map<?, ?> params) {
        StringBuilder text = new StringBuilder();
        for (Map.Entry<?, ?> e : new TreeMap<>(params).entrySet()) {
            if (text.length() > 0) {
                text.append(' ');
            }
            text.append(e.getKey()).append('=').append(e.getValue());
        }
        return text.toString();
    }

    private static double number(Object value) {
        if (value instanceof Number n) {
            return n.doubleValue();
        }
        if (value instanceof String s) {
            try {
                return Double.parseDouble(s);
            } catch (NumberFormatException e) {
                return Double.NaN;
            }
        }
        return Double.NaN;
    }

    /**
     * @param className a benchmark class as JMH names it (nested classes with dots)
     * @return the names of its {@link Baseline} benchmarks (a group's name for a group), in column order
     */
    static List<String> baselines(String className) {
        Class<?> type = load(className);
        if (type == null) {
            return List.of();
        }
        TreeMap<Integer, String> columns = new TreeMap<>();
        for (Method method : type.getMethods()) {
            Baseline baseline = method.getAnnotation(Baseline.class);
            if (baseline != null) {
                Group group = method.getAnnotation(Group.class);
                columns.put(baseline.value(), group != null ? group.value() : method.getName());
            }
        }
        return new ArrayList<>(columns.values());
    }

    private static Class<?> load(String name) {
        String candidate = name;
        while (true) {
            try {
                return Class.forName(candidate, false, RatioTable.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                int dot = candidate.lastIndexOf('.');
                if (dot < 0) {
                    return null;
                }
                candidate = candidate.substring(0, dot) + '$' + candidate.substring(dot + 1);
            }
        }
    }
}
