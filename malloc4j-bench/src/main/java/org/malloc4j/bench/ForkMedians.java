package org.malloc4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads a JMH result file ({@code -rf json}) and prints, for each benchmark and parameter set, the
 * median of every measured iteration of every fork, and the lowest and highest of the forks' own
 * medians, beside JMH's score (the mean of all iterations). For benchmarks whose forks settle at
 * different speeds (a {@code ProducerConsumerBenchmark} group on 2 cores), the mean moves with
 * how many forks landed at each speed; the median moves less, and the fork range shows the speeds.
 *
 * <p>Usage: {@code java -cp benchmarks.jar org.malloc4j.bench.ForkMedians RESULT.json}, or
 * {@code malloc4j-bench/fork-medians RESULT.json}.
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

    public static void main(String[] args) {
        if (args.length != 1 || !Files.isRegularFile(Path.of(args[0]))) {
            System.err.println("usage: java -cp benchmarks.jar org.malloc4j.bench.ForkMedians RESULT.json"
                    + " (JMH's -rf json output)");
            System.exit(2);
        }
        try {
            String table = render(read(Files.readString(Path.of(args[0]))));
            System.out.print(table);
            if (table.equals(RatioTable.NO_RESULTS)) {
                System.exit(1);
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("ForkMedians: " + args[0] + " holds no JMH results that can be read: " + e.getMessage());
            System.exit(1);
        }
    }

    /** @return the results in {@code json}, JMH's {@code -rf json} output, in its order */
    static List<Result> read(String json) {
        List<Result> results = new ArrayList<>();
        for (Object item : (List<?>) MiniJson.parse(json)) {
            Map<?, ?> result = (Map<?, ?>) item;
            RatioTable.Row row = RatioTable.row(result);
            List<double[]> forks = new ArrayList<>();
            Object raw = ((Map<?, ?>) result.get("primaryMetric")).get("rawData");
            if (raw instanceof List<?> perFork) {
                for (Object fork : perFork) {
                    List<?> iterations = (List<?>) fork;
                    if (!iterations.isEmpty()) {
                        forks.add(iterations.stream().mapToDouble(v -> ((Number) v).doubleValue()).toArray());
                    }
                }
            }
            if (!forks.isEmpty()) {
                results.add(new Result(row.className() + "." + row.peer(), row.params(), row.score(), row.unit(), forks));
            }
        }
        return results;
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
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "%-" + width + "s %5s %10s %21s %10s%n",
                "benchmark", "forks", "median", "fork medians (range)", "JMH mean"));
        for (Result r : results) {
            double[] forkMedians = r.forkMedians();
            double low = Arrays.stream(forkMedians).min().orElse(Double.NaN);
            double high = Arrays.stream(forkMedians).max().orElse(Double.NaN);
            out.append(String.format(Locale.ROOT, "%-" + width + "s %5d %10.3f %10.3f - %-8.3f %10.3f %s%n",
                    name(r), r.forks().size(), r.median(), low, high, r.score(), r.unit()));
        }
        return out.toString();
    }

    private static String name(Result r) {
        String simple = r.benchmark().substring(r.benchmark().lastIndexOf('.', r.benchmark().lastIndexOf('.') - 1) + 1);
        return r.params().isEmpty() ? simple : simple + " [" + r.params() + "]";
    }
}
