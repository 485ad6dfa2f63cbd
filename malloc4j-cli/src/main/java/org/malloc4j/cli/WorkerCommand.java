package org.malloc4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The hidden {@code malloc4j worker} command, run by {@code replay} in a child JVM per allocator:
 * reads the traces from standard input, opens the allocator, warms up, replays every trace, and
 * writes what it found on standard output, all as {@link WorkerProtocol} lines.
 */
@Command(name = "worker", hidden = true,
        description = "Internal: replays the traces named on standard input through one allocator.")
final class WorkerCommand implements Callable<Integer> {
    /** Requests of random work replayed (twice) before the traces, to warm the JIT up. */
    static final int WARMUP_STEPS = 30_000;
    /** The most timed passes the warm-up trace gets (the default --repeat). */
    static final int WARMUP_REPEAT = 3;
    /** The exit code of a worker whose parent has gone. */
    static final int ORPHANED = 1;

    @Spec
    private CommandSpec spec;

    @Option(names = "--allocator", required = true, paramLabel = "NAME", description = "The allocator.")
    private String allocatorName;

    @Option(names = "--repeat", defaultValue = "3", paramLabel = "K", description = "Timed passes per trace.")
    private int repeat;

    @Option(names = "--no-warmup", description = "Skip the warm-up replay.")
    private boolean noWarmup;

    @Option(names = "--footprint-only", description = "Only measure the footprint, without warm-up.")
    private boolean footprintOnly;

    @Option(names = "--downcalls", defaultValue = "critical", paramLabel = "KIND",
            description = "How to link the native allocators: critical or standard.")
    private String downcalls;

    @Option(names = "--parent", paramLabel = "PID",
            description = "The process that reads the results: the worker stops when it is gone.")
    private Long parentPid;

    @Override
    public Integer call() throws IOException {
        stopWithParent();
        // before any output: a parent takes a first line for the allocator's status
        if (!AllocatorCatalog.isKnown(allocatorName)) {
            throw new ParameterException(spec.commandLine(), AllocatorCatalog.unknown(allocatorName));
        }
        if (repeat < 0) {
            throw new ParameterException(spec.commandLine(), "--repeat must not be negative, got " + repeat);
        }
        try {
            DowncallLinkage.select(DowncallLinkage.of(downcalls));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        List<TraceSource> sources = readSources();
        ReplayAllocator allocator;
        try {
            allocator = AllocatorCatalog.open(allocatorName);
        } catch (AllocatorUnavailableException e) {
            send(out, AllocatorStatus.skipped(allocatorName, e.getMessage()));
            return 0;
        }
        try (allocator; FreshThreads threads = new FreshThreads()) {
            send(out, AllocatorStatus.available(allocator));
            boolean sampleFootprint = !allocator.footprintNeedsOwnProcess();
            TraceReplayer replayer = new TraceReplayer(allocator, repeat, sampleFootprint, threads);
            if (!noWarmup && !footprintOnly) {
                warmUp(new TraceReplayer(allocator, warmupRepeat(repeat), sampleFootprint, threads));
            }
            for (int i = 0; i < sources.size(); i++) {
                TraceSource source = sources.get(i);
                send(out, new WorkerProgress(i + 1, sources.size(), source.name()));
                send(out, replay(replayer, source));
            }
        }
        return 0;
    }

    /**
     * Makes this process end when its parent does: killed, or ended without waiting, the parent
     * would leave it running (at full CPU, in a timed pass) with nobody to read its results. Its
     * parent is {@link #parentPid} when given: a worker whose parent was gone before it started
     * has been handed to another process.
     */
    private void stopWithParent() {
        Runnable stop = () -> Runtime.getRuntime().halt(ORPHANED);
        ProcessHandle.current().parent()
                .filter(parent -> parentPid == null || parent.pid() == parentPid)
                .ifPresentOrElse(parent -> parent.onExit().thenRun(stop), () -> {
                    // Said for one who runs the worker by hand; a replay's worker has nobody to tell.
                    System.err.println("malloc4j worker: " + (parentPid == null ? "its parent process"
                            : "its parent, process " + parentPid + ",") + " is not running; stopping");
                    System.err.flush();
                    stop.run();
                });
    }

    /**
     * @param repeat the timed passes each trace gets
     * @return the timed passes the warm-up trace gets: enough to compile the timed loop, however
     *     many the traces get (a large --repeat would otherwise cost that many passes over it)
     */
    static int warmupRepeat(int repeat) {
        return Math.min(repeat, WARMUP_REPEAT);
    }

    private static void warmUp(TraceReplayer replayer) {
        Trace warmup = WarmupTrace.create(WARMUP_STEPS, 42);
        replayer.replay(warmup);
        replayer.replay(warmup);
    }

    private TraceResult replay(TraceReplayer replayer, TraceSource source) {
        Trace trace;
        try {
            trace = source.read();
        } catch (TraceFormatException | IOException e) {
            return TraceResult.failed(allocatorName, source.name(), source.set(), 0, 0, null,
                    "the worker could not read the trace: " + e.getMessage());
        } catch (OutOfMemoryError e) {
            // the parse's arrays are garbage now: the next trace starts with the whole heap
            return TraceResult.failed(allocatorName, source.name(), source.set(), 0, 0, null,
                    TraceReplayer.outOfJavaHeap());
        }
        return footprintOnly ? replayer.measureFootprint(trace) : replayer.replay(trace);
    }

    private static List<TraceSource> readSources() throws IOException {
        List<TraceSource> sources = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (WorkerProtocol.read(line) instanceof TraceSource source) {
                sources.add(source);
            } else if (!line.isBlank()) {
                throw new IllegalArgumentException("not a trace line (a JSON object of type \"trace\" with "
                        + "name, set, display and spec): " + line);
            }
        }
        return sources;
    }

    private static void send(PrintWriter out, Object message) {
        out.println(WorkerProtocol.write(message));
        out.flush();
    }
}
