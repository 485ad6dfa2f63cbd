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

    /** The command line, parsed by picocli; {@link #call} prints the table. */
    @Command(name = "ForkMedians", usageHelpWidth = 100, description = {
        "For each result of a JMH run, the median of every iteration of every fork, and the lowest and"
                + " highest fork median, beside JMH's mean.",
        "Exit: 0 with a table; 1 when the file holds no results or is not JMH's JSON; 2 for bad arguments."})
    static final class Options extends ToolCommand {
        @Parameters(paramLabel = "RESULT.json", description = "JMH's results, written with -rf json.")
        String file;

        @Override
        public Integer call() {
            Path path = existingFile(file);
            try {
                String table = render(read(Files.readString(path)));
                out().print(table);
                return table.equals(RatioTable.NO_RESULTS) ? 1 : 0;
            } catch (IOException | RuntimeException e) {
                err().println("ForkMedians: " + file + " holds no JMH results that can be read: "
                        + RatioTable.why(e));
                return 1;
            }
        }
    }

    public static void main(String[] args) {
        ToolCommandLine.exit(new Options(), args);
    }

    /**
     * @return the results in {@code json}, JMH's {@code -rf json} output, in its order; a result
     *     with no measured iteration is left out, and so is an iteration JMH wrote as {@code "NaN"}
     * @throws IllegalArgumentException if {@code json} is not JMH's shape: an array of results,
     *     each with a qualified benchmark name and a primary metric
     */
    static List<Result> read(String json) {
        List<Result> results = new ArrayList<>();
        int number = 0;
        for (Map<?, ?> result : RatioTable.results(json)) {
            number++;
            if (!(result.get("benchmark") instanceof String name)
                    || name.indexOf('.') < 0 || !(result.get("primaryMetric") instanceof Map<?, ?> primary)) {
                throw new IllegalArgumentException("result " + number + " has no qualified benchmark name or no primary metric");
            }
            List<double[]> forks = new ArrayList<>();
            if (primary.get("rawData") instanceof List<?> perFork) {
                for (Object fork : perFork) {
                    double[] iterations = scores(fork);
                    if (iterations.length > 0) {
                        forks.add(iterations);
                    }
                }
            }
            if (!forks.isEmpty()) {
                RatioTable.Row row;
                try {
                    row = RatioTable.row(result);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("result " + number + " " + e.getMessage(), e);
                }
                results.add(new Result(name, row.params(), row.score(), row.unit(), forks));
            }
        }
        return results;
    }

    /** @return a fork's iteration scores, those JMH could not measure ({@code "NaN"}) left out */
    private static double[] scores(Object fork) {
        if (!(fork instanceof List<?> iterations)) {
            throw new IllegalArgumentException("a fork's raw data is not an array of scores");
        }
        return iterations.stream().mapToDouble(v -> switch (v) {
            case Number n -> n.doubleValue();
            case String text -> Double.parseDouble(text);
            default -> throw new IllegalArgumentException("a score is neither a number nor a string: " + v);
        }).filter(v -> !Double.isNaN(v)).toArray();
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
        String simple = r.benchmark().substring(r.benchmark().lastIndexOf('.', r.benchmark().lastIndexOf('.') - 1) + 1);
        return r.params().isEmpty() ? simple : simple + " [" + r.params() + "]";
    }
}
