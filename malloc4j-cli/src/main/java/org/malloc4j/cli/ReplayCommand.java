package org.malloc4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code malloc4j replay}: replays allocation traces through malloc4j and the native allocators,
 * each allocator in a worker JVM of its own, verifies every block as the CS:APP driver does, and
 * reports throughput, peak footprint, utilization and the CS:APP performance index.
 */
@Command(name = "replay", sortOptions = false, usageHelpAutoWidth = true,
        header = "Replay allocation traces through malloc4j and the native allocators.", synopsisHeading = "%nUsage: ",
        // Written out, with its second line under the first's options: picocli's own broke the
        // allocator list inside its brackets ("[-a=NAME[," / "NAME...]]...") at 80 columns.
        customSynopsis = {
            "malloc4j replay [-hV] [--debug] [--downcalls=KIND] [--json=FILE] [-r=K]",
            "                       [-a=NAME[,NAME...]]... [FILE|DIR...]"},
        descriptionHeading = "%n",
        description = {
            "Replays CS:APP malloc-lab traces (.rep, or gzipped .rep.gz) through each allocator, each in a child "
                    + "JVM of its own, one after the other. Per trace and allocator:",
            "  1. A checked pass (untimed) verifies every block as the CS:APP driver does: non-null (a realloc to "
                    + "0 bytes may return NULL: it freed the block, as C allows), aligned to 16 bytes (a request under 16 "
                    + "bytes: to the largest power of two not above its size), "
                    + "overlapping no live block, and holding its contents: a pattern of the block id and "
                    + "offset is written into the whole payload at malloc (and the new tail at realloc), checked "
                    + "in the kept part at every realloc and in the whole block at free. The first wrong block "
                    + "makes the allocator FAILED on that trace, with the op number; the run goes on.",
            "  2. K timed passes make only the malloc/realloc/free calls and touch no payload byte; the fastest "
                    + "counts.",
            "  3. A footprint pass runs the checked pass again, on a fresh thread once the JIT is idle, and "
                    + "samples the allocator's footprint after every request that allocates.",
            "",
            "Measures: ops/s (fastest pass); peak live bytes (from the trace); peak footprint (the most the "
                    + "footprint grew over its value at the trace's start); utilization = peak live / peak "
                    + "footprint; performance index P = 0.6 min(1, U) + 0.4 min(1, T / T_glibc), with glibc's ops/s "
                    + "on the same trace in the same run (no index if glibc did not run).",
            "Footprint: malloc4j: Heap.footprintBytes(), committed + metadata bytes (a fresh heap per trace); "
                    + "glibc, jemalloc, mimalloc, arena: growth of the worker's resident set size "
                    + "(/proc/self/statm); tcmalloc: generic.heap_size minus "
                    + "tcmalloc.pageheap_unmapped_bytes, in a fresh worker per trace (its caches cannot be "
                    + "emptied). Before and after each trace the native allocators return free memory to the "
                    + "system (malloc_trim, tcache flush and arena purge, mi_collect, ReleaseFreeMemory).",
            "",
            // Worded so that picocli, which may break a line after a colon, keeps CS:APP whole at 80 columns.
            "With no FILE or DIR, replays the traces bundled in the jar: the 11 default traces of CS:APP and a "
                    + "capture of gcc's cc1."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:every replay was correct",
            "1:an allocator FAILED a trace, a trace could not be read (or needs more memory than the machine "
                    + "has), no allocator could run, the run "
                    + "broke off, or writing the table or the --json report failed (a full disk)",
            "2:usage error (unknown option or allocator, no allocator named or an empty name, a --repeat "
                    + "below 1, a --downcalls other than "
                    + "critical or standard, a missing file or one that is "
                    + "not a regular file or folder, a folder with no trace in it, a --json FILE "
                    + "that is a folder or named as a trace (.rep), or that no file can be made at or written to "
                    + "(a missing or read-only folder, no permission): "
                    + "checked before anything is replayed)"})
final class ReplayCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(paramLabel = "FILE|DIR", arity = "0..*",
            description = "Trace files (.rep, .rep.gz) and folders, searched with their subfolders for them "
                    + "(sorted; symbolic links followed). Default: the bundled traces.")
    private List<Path> paths = new ArrayList<>();

    // Split here, not by the parser, whose split drops a trailing empty name ("glibc,").
    @Option(names = {"-a", "--allocator"}, paramLabel = "NAME[,NAME...]",
            description = "Allocators, comma-separated, from: malloc4j, glibc, jemalloc, mimalloc, tcmalloc, "
                    + "arena (a JDK arena per block: Arena.ofConfined()). Default: all; those that cannot load are skipped "
                    + "with the reason.")
    private List<String> allocators = new ArrayList<>(AllocatorCatalog.NAMES);

    @Option(names = {"-r", "--repeat"}, paramLabel = "K", defaultValue = "3",
            description = "Timed passes per trace and allocator; the fastest counts. Default: ${DEFAULT-VALUE}.")
    private int repeat;

    @Option(names = "--downcalls", paramLabel = "KIND", defaultValue = "critical",
            description = "How the native allocators' malloc, realloc and free are linked: critical "
                    + "(Linker.Option.critical(false): no thread-state transition, the fastest a Java program can "
                    + "call C) or standard (no option: what the JDK asks for a function that is not extremely short "
                    + "in all cases, as malloc is not). Default: ${DEFAULT-VALUE}.")
    private String downcalls;

    @Option(names = "--json", paramLabel = "FILE",
            description = "Also write everything as JSON to FILE, or to standard output with '-' or a FILE "
                    + "that is where standard output goes, such as /dev/stdout (the table then goes to standard "
                    + "error). A FILE that is where standard error goes, such as /dev/stderr, gets the JSON through "
                    + "standard error, after what is there already.")
    private String json;

    @Override
    public Integer call() {
        List<String> names = allocatorNames();
        if (repeat < 1) {
            throw new ParameterException(spec.commandLine(), "--repeat must be at least 1, got " + repeat);
        }
        DowncallLinkage linkage;
        try {
            linkage = DowncallLinkage.of(downcalls);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String jsonProblem = json == null ? null : JsonReport.checkTarget(json);
        if (jsonProblem != null) {
            throw refusedJson(jsonProblem);
        }
        JsonReport.StandardStream jsonStream = json == null ? null : JsonReport.standardStream(json);
        TraceFinder.Found found = find();
        String overwrites = json == null ? null : JsonReport.overwritesTrace(json, found.sources());
        if (overwrites != null) {
            throw refusedJson(overwrites);
        }

        List<TraceInfo> traces = new ArrayList<>();
        List<TraceError> errors = new ArrayList<>(found.errors());
        List<TraceSource> parsed = parse(found.sources(), traces, errors);

        WorkerRuns.Outcome runs = parsed.isEmpty()
                ? new WorkerRuns.Outcome(names.stream().map(AllocatorStatus::notRun).toList(), List.of())
                : new WorkerRuns(repeat, linkage, Progress.onTerminal(err)).run(names, parsed, traces);
        ReplayReport report = ReplayReport.of(repeat, linkage, runs.statuses(), traces, errors, runs.results());
        PrintWriter table = jsonStream == JsonReport.StandardStream.OUTPUT ? err : out;
        table.print(ResultTable.render(report));
        // a PrintWriter keeps a failed write (a full disk, a closed pipe) to itself until asked
        if (table.checkError() && table == out) {
            err.println("malloc4j: the results could not be written to standard output: the write failed");
            err.flush();
            return ReplayReport.INCORRECT;
        }
        if (json != null) {
            PrintWriter stream = jsonStream == null ? null : jsonStream == JsonReport.StandardStream.ERROR ? err : out;
            try {
                JsonReport.write(report, json, stream);
            } catch (IOException e) {
                String target = jsonStream == null ? Units.path(json) : jsonStream.description;
                err.println("malloc4j: the JSON report could not be written to "
                        + Units.printable(target + ": " + Problems.reason(e)));
                if (jsonStream == null) {
                    // A standard stream's failure is only a PrintWriter's error flag: no trace to show.
                    Main.traceIfDebugging(spec, e, err);
                }
                err.flush();
                return ReplayReport.INCORRECT;
            }
        }
        return report.exitCode();
    }

    /** @return the usage error of what is wrong with the {@code --json} target, before anything is replayed */
    private ParameterException refusedJson(String problem) {
        return new ParameterException(spec.commandLine(), "--json " + Units.path(json) + ": " + problem);
    }

    private List<String> allocatorNames() {
        String known = "; known: " + String.join(", ", AllocatorCatalog.NAMES);
        Set<String> seen = new HashSet<>();
        List<String> names = new ArrayList<>();
        for (String list : allocators) {
            if (list.strip().equals(",") || list.isBlank()) {
                // Running nothing would pass for "no allocator could run".
                throw new ParameterException(spec.commandLine(), "--allocator names no allocator" + known);
            }
            for (String name : list.split(",", -1)) {
                String normalized = name.strip().toLowerCase(Locale.ROOT);
                if (normalized.isEmpty()) {
                    throw new ParameterException(spec.commandLine(), "--allocator has an empty name" + known);
                }
                if (!AllocatorCatalog.isKnown(normalized)) {
                    throw new ParameterException(spec.commandLine(), AllocatorCatalog.unknown(name));
                }
                if (seen.add(normalized)) {
                    names.add(normalized);
                }
            }
        }
        return names;
    }

    private TraceFinder.Found find() {
        if (paths.isEmpty()) {
            return new TraceFinder.Found(TraceFinder.bundled(), List.of());
        }
        try {
            return TraceFinder.find(paths);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /**
     * Parses every trace up front, so a bad one, or one too large for this machine, is reported once
     * as a trace that is not replayed, and no worker sees it.
     */
    private static List<TraceSource> parse(List<TraceSource> sources, List<TraceInfo> traces,
            List<TraceError> errors) {
        long memoryBytes = PhysicalMemory.totalBytes();
        List<TraceSource> parsed = new ArrayList<>();
        for (TraceSource source : sources) {
            try {
                Trace trace = source.read();
                String beyond = PhysicalMemory.beyondMemory(trace, memoryBytes);
                if (beyond != null) {
                    errors.add(new TraceError(source.display(), 0, beyond));
                    continue;
                }
                traces.add(TraceInfo.of(source, trace));
                parsed.add(source);
            } catch (TraceFormatException e) {
                errors.add(TraceError.of(e));
            } catch (IOException e) {
                errors.add(new TraceError(source.display(), 0, e.getMessage()));
            } catch (OutOfMemoryError e) {
                // The parse's arrays are garbage once it throws: the other traces still fit.
                errors.add(TraceError.tooLargeForHeap(source.display()));
            }
        }
        return parsed;
    }
}
