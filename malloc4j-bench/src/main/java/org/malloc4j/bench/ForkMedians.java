package org.malloc4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * Reads a JMH result file ({@code -rf json}) and prints, for each benchmark and parameter set, the
 * median of every measured iteration of every fork, and the lowest and highest of the forks' own
 * medians, beside JMH's score (the mean of all iterations). For benchmarks whose forks settle at
 * different speeds (a {@code ProducerConsumerBenchmark} group on 2 cores), the mean moves with
 * how many forks landed at each speed; the median moves less, and the fork range shows the speeds.
 *
 * <p>Usage: {@code java -cp benchmarks.jar org.malloc4j.bench.ForkMedians RESULT.json}, or
 * {@code malloc4j-bench/fork-medians RESULT.json}; {@code --help} for more.
 */
public final class ForkMedians {
    private ForkMedians() {
    }

    /** One result: its name, parameters, JMH's score and unit, and each fork's iteration scores. */
    record Result(String benchmark, String params, double score, String unit, List<double[]> forks) {
        /** @return the median of every iteration of every fork */
        double median() {
            return Median.of(forks.stream().flatMapToDouble(Arrays::stream).toArray());
        }

        /** @return each fork's median, in fork order */
        double[] forkMedians() {
            return forks.stream().mapToDouble(Median::of).toArray();
        }
    }

    /**
     * What a file holds: its results, and a line for each result left out for having no measured
     * iteration, which says which and why (a table that lacks a benchmark, or says only "no results",
     * would leave its reader guessing).
     */
    record Read(List<Result> results, List<String> leftOut) {
    }

    /** The command line, parsed by picocli; {@link #call} prints the table. */
    @Command(name = "ForkMedians", usageHelpWidth = 100, description = {
        "For each result of a JMH run, the median of every iteration of every fork, and the lowest and"
                + " highest fork median, beside JMH's mean. A result with no measured iteration is left out, and"
                + " named on standard error.",
        "Exit: 0 with a table; 1 when the file holds no results or is not JMH's JSON; 2 for bad arguments."})
    static final class Options extends ToolCommand {
        @Parameters(paramLabel = "RESULT.json", description = "JMH's results, written with -rf json.")
        String file;

        @Override
        public Integer call() {
            Path path = existingFile(file);
            Read read;
            try {
                read = read(Files.readString(path));
            } catch (IOException | RuntimeException e) {
                err().println("ForkMedians: " + file + " holds no JMH results that can be read: "
                        + RatioTable.why(e));
                return 1;
            }
            read.leftOut().forEach(line -> err().println("ForkMedians: " + file + ": " + line));
            String table = render(read.results());
            out().print(table);
            return table.equals(RatioTable.NO_RESULTS) ? 1 : 0;
        }
    }

    public static void main(String[] args) {
        ToolCommandLine.exit(new Options(), args);
    }

    /**
     * @return the results in {@code json}, JMH's {@code -rf json} output, in its order; a result
     *     with no measured iteration is left out (and named in {@link Read#leftOut}), and so is an
     *     iteration JMH wrote as {@code "NaN"}
     * @throws IllegalArgumentException if {@code json} is not JMH's shape: an array of results, each
     *     with a qualified benchmark name and a primary metric whose raw data is an array of forks, each
     *     an array of numbers; the message names the result and the field
     */
    static Read read(String json) {
        List<Result> results = new ArrayList<>();
        List<String> leftOut = new ArrayList<>();
        int number = 0;
        for (Map<?, ?> result : RatioTable.results(json)) {
            number++;
            if (!(result.get("benchmark") instanceof String name) || name.indexOf('.') < 0) {
                throw new IllegalArgumentException("result " + number + " has no qualified benchmark name");
            }
            String which = "result " + number + " (" + label(name, result.get("params")) + ")";
            if (!(result.get("primaryMetric") instanceof Map<?, ?> primary)) {
                throw new IllegalArgumentException(which + " has no primaryMetric object");
            }
            if (!(primary.get("rawData") instanceof List<?> perFork)) {
                throw new IllegalArgumentException(which + ": its primaryMetric.rawData is "
                        + (primary.get("rawData") == null ? "missing" : "not an array of forks"));
            }
            List<double[]> forks = new ArrayList<>();
            for (int fork = 0; fork < perFork.size(); fork++) {
                double[] iterations = scores(which, fork, perFork.get(fork));
                if (iterations.length > 0) {
                    forks.add(iterations);
                }
            }
            if (forks.isEmpty()) {
                leftOut.add(which + " is left out: " + (perFork.isEmpty() ? "its primaryMetric.rawData holds no fork"
                        : "JMH measured none of its iterations (each is NaN)"));
                continue;
            }
            RatioTable.Row row;
            try {
                row = RatioTable.row(result);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("result " + number + " " + e.getMessage(), e);
            }
            results.add(new Result(name, row.params(), row.score(), row.unit(), forks));
        }
        return new Read(results, leftOut);
    }

    /** @return how a message names a result: as the table does, {@code PairBenchmark.malloc4jRaw [size=64]} */
    private static String label(String benchmark, Object params) {
        return name(benchmark, params instanceof Map<?, ?> map ? RatioTable.paramText(map) : "");
    }

    /**
     * @param which the result, for a message
     * @param fork the fork's index in the raw data, from 0
     * @return a fork's iteration scores, those JMH could not measure ({@code "NaN"}) left out
     */
    private static double[] scores(String which, int fork, Object scores) {
        String where = "fork " + (fork + 1) + " of its primaryMetric.rawData";
        if (!(scores instanceof List<?> iterations)) {
            throw new IllegalArgumentException(which + ": " + where + " is " + kind(scores)
                    + ", not an array of scores");
        }
        double[] measured = new double[iterations.size()];
        int count = 0;
        for (int i = 0; i < iterations.size(); i++) {
            Double score = score(iterations.get(i));
            if (score == null) {
                throw new IllegalArgumentException(which + ": iteration " + (i + 1) + " of " + where + " is "
                        + kind(iterations.get(i)) + ", not a number");
            }
            if (!Double.isNaN(score)) {
                measured[count++] = score;
            }
        }
        return Arrays.copyOf(measured, count);
    }

    /** @return an iteration's score, or null if the value is none */
    private static Double score(Object value) {
        return switch (value) {
            case Number n -> n.doubleValue();
            // JMH writes what JSON cannot hold as a string: "NaN", "Infinity".
            case String text -> {
                try {
                    yield Double.parseDouble(text);
                } catch (NumberFormatException e) {
                    yield null;
                }
            }
            case null, default -> null;
        };
    }

    /** @return a JSON value as a message shows it: a string quoted, a container by its kind */
    private static String kind(Object value) {
        return switch (value) {
            case null -> "null";
            case String text -> '"' + text + '"';
            case Map<?, ?> map -> "an object";
            case List<?> list -> "an array";
            default -> String.valueOf(value);
        };
    }

    /** @return a line per result, or {@link RatioTable#NO_RESULTS} if there is none */
    static String render(List<Result> results) {
        if (results.isEmpty()) {
            return RatioTable.NO_RESULTS;
        }
        int width = "benchmark".length();
        for (Result r : results) {
            width = Math.max(width, name(r).length());
        }
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "%-" + width + "s %5s %12s %25s %12s%n",
                "benchmark", "forks", "median", "lowest - highest fork", "JMH mean"));
        for (Result r : results) {
            double[] forkMedians = r.forkMedians();
            double low = Arrays.stream(forkMedians).min().orElse(Double.NaN);
            double high = Arrays.stream(forkMedians).max().orElse(Double.NaN);
            out.append(String.format(Locale.ROOT, "%-" + width + "s %5d %12.3f %12.3f - %-10.3f %12.3f %s%n",
                    name(r), r.forks().size(), r.median(), low, high, r.score(), r.unit()));
        }
        return out.toString();
    }

    private static String name(Result r) {
        return name(r.benchmark(), r.params());
    }

    /** @return the benchmark's class and method, and its parameters if it has any */
    private static String name(String benchmark, String params) {
        String simple = benchmark.substring(benchmark.lastIndexOf('.', benchmark.lastIndexOf('.') - 1) + 1);
        return params.isEmpty() ? simple : simple + " [" + params + "]";
    }
}
