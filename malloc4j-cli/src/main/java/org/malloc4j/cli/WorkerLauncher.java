package org.malloc4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs one allocator's replays in a child JVM (the {@code worker} command of this same program):
 * same {@code java} binary, same class path, a fixed and pre-touched Java heap (so the Java heap
 * does not move the resident set size), the serial collector (no collector threads competing for
 * the two cores), and {@code GLIBC_TUNABLES} with static TLS room so that Debian's jemalloc loads
 * and room for a glibc arena per thread.
 * A native allocator that crashes takes only its worker down.
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

    /** The worker JVM's options, besides the class path. */
    static final List<String> JVM_OPTIONS = List.of(
            "--enable-native-access=ALL-UNNAMED",
            "-Xmx512m",
            "-XX:+UseSerialGC",
            "-XX:ErrorFile=" + Path.of(System.getProperty("java.io.tmpdir"), "malloc4j-worker-hs_err-%p.log"));

    /**
     * Options of a worker that samples the resident set size: a Java heap of fixed size, touched
     * from the start. A footprint-only worker does without them (it starts a second faster): it
     * serves allocators whose footprint figure is their own, not the RSS.
     */
    static final List<String> FIXED_HEAP_OPTIONS = List.of("-Xms512m", "-XX:+AlwaysPreTouch");

    /**
     * What a worker reported.
     *
     * @param status whether the allocator ran (null if the worker died before saying)
     * @param results a result per trace it finished
     * @param exitCode the worker's exit code
     */
    record Run(AllocatorStatus status, List<TraceResult> results, int exitCode) {
    }

    private final int repeat;
    private final PrintWriter err;

    /**
     * @param repeat timed passes per trace
     * @param err where to pass on what a worker prints besides its protocol lines
     */
    WorkerLauncher(int repeat, PrintWriter err) {
        this.repeat = repeat;
        this.err = err;
    }

    /**
     * Replays traces through an allocator in a worker and waits for it.
     *
     * @param allocator the allocator's name
     * @param traces the traces, all known to parse
     * @param footprintOnly whether the worker only measures the footprint
     * @param progress told when the worker starts each trace
     * @return what the worker reported
     */
    Run run(String allocator, List<TraceSource> traces, boolean footprintOnly, Consumer<WorkerProgress> progress) {
        ProcessBuilder builder = new ProcessBuilder(command(allocator, footprintOnly));
        builder.redirectError(ProcessBuilder.Redirect.INHERIT);
        withTunables(builder.environment());
        try {
            Process process = builder.start();
            sendTraces(process, traces);
            return collect(process, progress);
        } catch (IOException e) {
            throw new UncheckedIOException("could not start a worker JVM for " + allocator, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the " + allocator + " worker", e);
        }
    }

    private List<String> command(String allocator, boolean footprintOnly) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(JVM_OPTIONS);
        if (!footprintOnly) {
            command.addAll(FIXED_HEAP_OPTIONS);
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Main.class.getName());
        command.add("worker");
        command.add("--allocator=" + allocator);
        command.add("--repeat=" + repeat);
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

    private static void sendTraces(Process process, List<TraceSource> traces) throws IOException {
        try (Writer in = process.outputWriter(StandardCharsets.UTF_8)) {
            for (TraceSource trace : traces) {
                in.write(WorkerProtocol.write(trace));
                in.write('\n');
            }
        }
    }

    private Run collect(Process process, Consumer<WorkerProgress> progress)
            throws IOException, InterruptedException {
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
                        err.println(line);
                        err.flush();
                    }
                }
            }
        }
        return new Run(status, results, process.waitFor());
    }
}
