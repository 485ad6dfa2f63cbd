package org.malloc4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Runs one allocator's replays in a child JVM (the {@code worker} command of this same program):
 * same {@code java} binary, same class path, a fixed and pre-touched Java heap sized for the traces
 * (so the Java heap does not move the resident set size), the serial collector (no collector
 * threads competing for the two cores), and {@code GLIBC_TUNABLES} with static TLS room so that
 * Debian's jemalloc loads and room for a glibc arena per thread.
 * A native allocator that crashes takes only its worker down, and a worker that dies, even one
 * whose JVM cannot start, is a {@link Run} like any other: its exit code and the last lines it
 * printed say why it gave no more results.
 */
final class WorkerLauncher {
    /** The glibc tunable Debian's libjemalloc2 needs to load into a running JVM. */
    static final String STATIC_TLS_TUNABLE = "glibc.rtld.optional_static_tls=8192";
    /**
     * Room for an arena per thread: every replay session runs on a thread of its own (see
     * {@link FreshThreads}), which glibc gives an arena of its own only while it has fewer than
     * {@code arena_max} arenas (by default 8 per core).
     */
    static final String ARENA_MAX_TUNABLE = "glibc.malloc.arena_max=65536";

    /** The worker JVM's options, besides the class path and the heap size. */
    static final List<String> JVM_OPTIONS = List.of(
            "--enable-native-access=ALL-UNNAMED",
            "-XX:+UseSerialGC",
            "-XX:ErrorFile=" + Path.of(System.getProperty("java.io.tmpdir"), "malloc4j-worker-hs_err-%p.log"));

    /**
     * Touches the whole Java heap at startup: a worker that samples the resident set size gets it,
     * with an initial heap as large as the maximum, so that the Java heap does not move the RSS. A
     * footprint-only worker does without both (it starts a second faster): it serves allocators
     * whose footprint figure is their own, not the RSS.
     */
    static final String PRE_TOUCH = "-XX:+AlwaysPreTouch";

    /** The smallest Java heap of a worker, in MiB: traces of up to a few million ids fit it. */
    static final long MIN_HEAP_MIB = 512;

    /**
     * For tests only: environment variables added to the workers of the allocators it names, so that
     * a test can break a worker the way a user's environment can (a {@code JAVA_TOOL_OPTIONS} that
     * selects another collector, say). Empty in the product.
     */
    static volatile Map<String, Map<String, String>> testEnvironment = Map.of();

    /** How many of the last lines a worker printed outside the protocol a {@link Run} keeps, per stream. */
    static final int LAST_OUTPUT_LINES = 3;
    /** The longest a kept line is: a native library may print anything. */
    private static final int LAST_OUTPUT_WIDTH = 200;
    /** A line of a Java stack trace that names a frame, or the frames it leaves out. */
    private static final Pattern STACK_FRAME =
            Pattern.compile("at \\S+\\(.*\\)|\\.\\.\\. \\d+ (more|common frames omitted)");

    /**
     * What a worker reported.
     *
     * @param status whether the allocator ran (null if the worker died before saying)
     * @param results a result per trace it finished
     * @param exitCode the worker's exit code, or {@link #NOT_STARTED}
     * @param lastOutput the last few lines it printed besides its protocol lines, those of standard
     *     error then those of standard output, oldest first: what a JVM that cannot start, a crash or
     *     an uncaught exception leaves (or, if it could not be started, why not)
     */
    record Run(AllocatorStatus status, List<TraceResult> results, int exitCode, List<String> lastOutput) {
        /** The exit code of a worker whose process could not be created. */
        static final int NOT_STARTED = -1;

        /**
         * @param when what the worker had not done yet, such as {@code before it opened the allocator}
         * @return why the worker gave no more results, for a reason: {@code the worker JVM exited with
         *     code 1 before it opened the allocator; its last output: ...}
         */
        String stopped(String when) {
            if (exitCode == NOT_STARTED) {
                return "the worker JVM could not be started: " + String.join(" | ", lastOutput);
            }
            String stopped = "the worker JVM exited with code " + exitCode + " " + when;
            return lastOutput.isEmpty() ? stopped : stopped + "; its last output: " + String.join(" | ", lastOutput);
        }
    }

    private final int repeat;
    private final DowncallLinkage linkage;
    private final Progress terminal;

    /**
     * The Java heap a worker needs for its traces, so that the replay's own data never runs short
     * and makes an allocator look at fault. Per trace the worker holds, in arrays: while parsing, up
     * to 25 bytes a request (the arrays double as they grow) and 20 an id; while replaying, 13 bytes
     * a request and 56 an id (the checked pass's live-block treap and block table, the timed pass's
     * addresses, an adapter's per-block arrays). Arrays this large live in the serial collector's
     * old generation, two thirds of the heap; 64 MiB is left for the rest.
     *
     * @param traces the traces one worker replays, one after the other
     * @return its heap in MiB: {@value #MIN_HEAP_MIB}, or more for a trace of millions of ids
     */
    static long heapMiB(List<TraceInfo> traces) {
        long bytes = traces.stream().mapToLong(trace -> 25L * trace.ops() + 56L * trace.numIds()).max().orElse(0);
        return Math.max(MIN_HEAP_MIB, 64 + Math.ceilDiv(bytes * 3 / 2, 1L << 20));
    }

    /**
     * @param repeat timed passes per trace
     * @param terminal the progress counter on standard error, where what a worker prints besides its
     *     protocol lines is passed on
     */
    WorkerLauncher(int repeat, Progress terminal) {
        this(repeat, DowncallLinkage.CRITICAL, terminal);
    }

    /**
     * @param repeat timed passes per trace
     * @param linkage how the workers link the native allocators
     * @param terminal as {@link #WorkerLauncher(int, Progress)} says
     */
    WorkerLauncher(int repeat, DowncallLinkage linkage, Progress terminal) {
        this.repeat = repeat;
        this.linkage = linkage;
        this.terminal = terminal;
    }

    /**
     * Replays traces through an allocator in a worker and waits for it.
     *
     * @param allocator the allocator's name
     * @param traces the traces, all known to parse
     * @param heapMiB the worker's Java heap, from {@link #heapMiB}
     * @param footprintOnly whether the worker only measures the footprint
     * @param progress told when the worker starts each trace
     * @return what the worker reported
     */
    Run run(String allocator, List<TraceSource> traces, long heapMiB, boolean footprintOnly,
            Consumer<WorkerProgress> progress) {
        ProcessBuilder builder = new ProcessBuilder(command(allocator, heapMiB, footprintOnly));
        withTunables(builder.environment());
        builder.environment().putAll(testEnvironment.getOrDefault(allocator, Map.of()));
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            return new Run(null, List.of(), Run.NOT_STARTED, List.of(Problems.describe(e)));
        }
        LastLines lastErr = new LastLines();
        Thread stderr = Thread.ofPlatform().daemon().name("malloc4j-" + allocator + "-worker-stderr")
                .start(() -> passOn(process.errorReader(), lastErr));
        try {
            sendTraces(process, traces);
            return collect(process, progress, lastErr, stderr);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the " + allocator + " worker", e);
        }
    }

    /** @return the worker's command line */
    List<String> command(String allocator, long heapMiB, boolean footprintOnly) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JVM_OPTIONS);
        command.add("-Xmx" + heapMiB + "m");
        if (!footprintOnly) {
            command.add("-Xms" + heapMiB + "m");
            command.add(PRE_TOUCH);
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Main.class.getName());
        command.add("worker");
        command.add("--allocator=" + allocator);
        command.add("--repeat=" + repeat);
        command.add("--downcalls=" + linkage.option());
        command.add("--parent=" + ProcessHandle.current().pid());
        if (footprintOnly) {
            command.add("--footprint-only");
        }
        return command;
    }

    /** Adds the worker's glibc tunables to the environment, keeping any the user set. */
    private static void withTunables(Map<String, String> environment) {
        String tunables = environment.getOrDefault("GLIBC_TUNABLES", "");
        for (String tunable : List.of(STATIC_TLS_TUNABLE, ARENA_MAX_TUNABLE)) {
            String name = tunable.substring(0, tunable.indexOf('=') + 1);
            if (!tunables.contains(name)) {
                tunables = tunables.isBlank() ? tunable : tunables + ":" + tunable;
            }
        }
        environment.put("GLIBC_TUNABLES", tunables);
    }

    /**
     * Writes the traces to the worker's standard input. A worker that dies (a JVM that cannot start
     * with the options it was given, a crash) stops reading it, and the write fails; that failure
     * says nothing more, so it is dropped: the worker's exit code and last output say why.
     */
    private static void sendTraces(Process process, List<TraceSource> traces) {
        try (Writer in = process.outputWriter(StandardCharsets.UTF_8)) {
            for (TraceSource trace : traces) {
                in.write(WorkerProtocol.write(trace));
                in.write('\n');
            }
        } catch (IOException e) {
            // the worker is gone, or going; collect() waits for it
        }
    }

    private Run collect(Process process, Consumer<WorkerProgress> progress, LastLines lastErr, Thread stderr)
            throws InterruptedException {
        LastLines lastOutput = new LastLines();
        AllocatorStatus status = null;
        List<TraceResult> results = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = out.readLine(); line != null; line = out.readLine()) {
                switch (WorkerProtocol.read(line)) {
                    case AllocatorStatus s -> status = s;
                    case WorkerProgress p -> progress.accept(p);
                    case TraceResult r -> results.add(r);
                    case null, default -> {
                        lastOutput.add(line);
                        terminal.println(line);
                    }
                }
            }
        } catch (IOException e) {
            // the pipe broke: the worker is gone, and what it sent so far is all there is
            lastOutput.add("(its output could not be read: " + Problems.describe(e) + ")");
        }
        int exitCode = process.waitFor();
        // its standard error closes when it exits; a process it started could keep it open
        stderr.join(Duration.ofSeconds(5));
        // each stream in its own order: which of two pipes was read first says nothing
        List<String> last = new ArrayList<>(lastErr.lines());
        last.addAll(lastOutput.lines());
        return new Run(status, results, exitCode, List.copyOf(last));
    }

    /** Passes the worker's standard error on as it comes, and keeps its last lines. */
    private void passOn(BufferedReader workerErr, LastLines lastOutput) {
        try (workerErr) {
            for (String line = workerErr.readLine(); line != null; line = workerErr.readLine()) {
                lastOutput.add(line);
                terminal.println(line);
            }
        } catch (IOException e) {
            // the pipe broke: the worker is gone
        }
    }

    /** The last few telling lines a worker printed on one of its output streams. */
    private static final class LastLines {
        private final Deque<String> lines = new ArrayDeque<>();

        synchronized void add(String line) {
            String text = line.strip();
            // blank lines and the bare "#" lines that frame a JVM crash report say nothing, and a
            // Java stack trace's frames would push out the exception line that says what happened
            if (text.isEmpty() || text.chars().allMatch(c -> c == '#') || STACK_FRAME.matcher(text).matches()) {
                return;
            }
            if (lines.size() == LAST_OUTPUT_LINES) {
                lines.removeFirst();
            }
            lines.addLast(text.length() > LAST_OUTPUT_WIDTH ? text.substring(0, LAST_OUTPUT_WIDTH) + "..." : text);
        }

        synchronized List<String> lines() {
            return List.copyOf(lines);
        }
    }
}
