package org.malloc4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * The benchmarks that failed in a JMH run, read from its log (what JMH prints). When a benchmark
 * throws, or its forked JVM dies (killed, out of memory, a JVM option it refuses), JMH prints the
 * failure in the log, goes on to the next benchmark and at the end exits with status 0; its JSON
 * simply lacks the benchmark. The scripts run this on the log to say which benchmarks are missing
 * from their tables, and why.
 *
 * <pre>java -cp benchmarks.jar org.malloc4j.bench.JmhFailures JMH-LOG</pre>
 *
 * It prints one line per failed benchmark (its name, parameters and mode, and the reason JMH gave)
 * and nothing when none failed. Exit: 0, or 2 when the log cannot be read.
 */
public final class JmhFailures {
    private static final String PACKAGE = "org.malloc4j.bench.";
    private static final Pattern FORK_FAILED = Pattern.compile("^<forked VM failed with exit code (\\d+)>");
    /** Lines the java launcher adds around a JVM's own reason for not starting. */
    private static final Pattern LAUNCHER_NOISE = Pattern.compile("^(WARNING: |NOTE: Picked up |Picked up "
            + "|Error: Could not create the Java Virtual Machine|Error: A fatal exception has occurred"
            + "|Error occurred during initialization of VM)");

    private JmhFailures() {
    }

    /** A benchmark JMH could not measure, and the first reason it gave. */
    record Failure(String benchmark, String params, String mode, String reason) {
        /** @return one line: the benchmark's short name, its parameters and mode when not average time, the reason */
        String describe() {
            String name = benchmark.startsWith(PACKAGE) ? benchmark.substring(PACKAGE.length()) : benchmark;
            return name + (params.isEmpty() ? "" : " [" + params + "]")
                    + (mode.isEmpty() || mode.equals("Average time") ? "" : " (" + mode + ")") + ": " + reason;
        }
    }

    /** The command line, parsed by picocli; {@link #call} prints the failures. */
    @Command(name = "JmhFailures", usageHelpWidth = 100, description = {
        "The benchmarks that failed in a JMH run, read from its log: one line per failed benchmark (its name,"
                + " parameters and mode, and the reason JMH gave), nothing when none failed.",
        "Exit: 0, or 2 when the log cannot be read or for bad arguments."})
    static final class Options extends ToolCommand {
        @Parameters(paramLabel = "JMH-LOG", description = "What JMH printed, saved to a file.")
        String log;

        @Override
        public Integer call() {
            Path path = existingFile(log);
            List<String> lines;
            try {
                lines = Files.readAllLines(path);
            } catch (IOException e) {
                err().println("JmhFailures: cannot read " + log + ": " + RatioTable.why(e));
                return 2;
            }
            for (Failure failure : find(lines)) {
                out().println(failure.describe());
            }
            return 0;
        }
    }

    public static void main(String[] args) {
        ToolCommandLine.exit(new Options(), args);
    }

    /**
     * @param log JMH's output, line by line (several runs may follow one another)
     * @return each benchmark, parameter set and mode that failed, once, in the log's order
     */
    static List<Failure> find(List<String> log) {
        Map<String, Failure> failures = new LinkedHashMap<>();
        String benchmark = null;
        String params = "";
        String mode = "";
        for (int i = 0; i < log.size(); i++) {
            String line = log.get(i);
            if (line.startsWith("# Benchmark mode: ")) {
                // JMH prints the mode before the benchmark's name: it starts the next block.
                String text = line.substring("# Benchmark mode: ".length());
                mode = text.contains(",") ? text.substring(0, text.indexOf(',')) : text;
                benchmark = null;
                params = "";
            } else if (line.startsWith("# Benchmark: ")) {
                benchmark = line.substring("# Benchmark: ".length()).strip();
                params = "";
            } else if (line.startsWith("# Parameters: (") && line.endsWith(")")) {
                params = line.substring("# Parameters: (".length(), line.length() - 1).replace(" = ", "=")
                        .replace(", ", " ");
            } else if (benchmark != null) {
                String reason = reason(log, i);
                if (reason != null) {
                    failures.putIfAbsent(benchmark + " " + params + " " + mode, new Failure(benchmark, params, mode, reason));
                }
            }
        }
        return new ArrayList<>(failures.values());
    }

    /** @return why the benchmark failed, when line {@code i} of the log says it did; else null */
    private static String reason(List<String> log, int i) {
        String line = log.get(i);
        if (line.endsWith("<failure>")) {
            // The exception's first line follows, after a blank one.
            for (int j = i + 1; j < log.size() && !log.get(j).startsWith("# "); j++) {
                if (!log.get(j).isBlank()) {
                    return log.get(j).strip();
                }
            }
            return "it failed (JMH printed no reason)";
        }
        Matcher fork = FORK_FAILED.matcher(line);
        if (fork.find()) {
            int status = Integer.parseInt(fork.group(1));
            String why = "its forked JVM exited with status " + status
                    + (status > 128 ? " (killed by signal " + (status - 128) + (status == 137 ? ", as by the kernel's out-of-memory killer or kill -9" : "") + ")" : "");
            String said = forkStderr(log, i);
            return said == null ? why : why + ": " + said;
        }
        if (line.startsWith("<") && line.endsWith(">") && line.contains("failed")) {
            return line.substring(1, line.length() - 1);
        }
        return null;
    }

    /** @return the first line of the dead fork's standard error that says more than the launcher's notes, if any */
    private static String forkStderr(List<String> log, int failedAt) {
        boolean inStderr = false;
        for (int j = failedAt + 1; j < log.size(); j++) {
            String line = log.get(j);
            if (line.startsWith("<stderr")) {
                inStderr = true;
            } else if (line.startsWith("</stderr>") || line.startsWith("# ")) {
                return null;
            } else if (inStderr && !line.isBlank() && !LAUNCHER_NOISE.matcher(line).find()) {
                return line.strip();
            }
        }
        return null;
    }
}
