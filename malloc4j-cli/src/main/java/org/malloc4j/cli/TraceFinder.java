package org.malloc4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Turns the command line's FILES and DIRS into trace sources: a file is taken as it is, a folder is
 * searched (with its subfolders, and through symbolic links) for {@code *.rep} and {@code *.rep.gz},
 * sorted by path. With no
 * arguments the traces bundled in the jar are used, in the order of their index.
 */
public final class TraceFinder {
    private static final String INDEX = "index.txt";

    private TraceFinder() {
    }

    /**
     * Finds the traces, each named after its file without {@code .rep} or {@code .rep.gz}, unless
     * that name is not unique in the trace's set ({@code a.rep} and {@code a.rep.gz} in one folder;
     * two folders of the same name): then those traces are named by their file names, or, if these
     * are the same too, by their paths as given.
     *
     * @param paths files and folders, in the order given; duplicates are dropped
     * @return the traces they name, each with a name of its own in its set
     * @throws IllegalArgumentException if a path does not exist or is neither a regular file nor a
     *     folder (a FIFO), a folder holds no trace, holds a trace that is not a regular file (a
     *     FIFO or a broken link named {@code *.rep}), or cannot be listed
     */
    public static List<TraceSource> find(List<Path> paths) {
        Map<String, TraceSource> found = new LinkedHashMap<>();
        for (Path path : paths) {
            for (TraceSource source : expand(path)) {
                found.putIfAbsent(source.spec(), source);
            }
        }
        List<TraceSource> sources = rename(List.copyOf(found.values()), TraceSource::fileName);
        return rename(sources, TraceSource::display);
    }

    /** Renames, with {@code newName}, every source whose name another source of its set has too. */
    private static List<TraceSource> rename(List<TraceSource> sources, Function<TraceSource, String> newName) {
        Map<String, Long> counts = sources.stream()
                .collect(Collectors.groupingBy(TraceFinder::key, Collectors.counting()));
        return sources.stream()
                .map(source -> counts.get(key(source)) > 1 ? source.withName(newName.apply(source)) : source)
                .toList();
    }

    private static String key(TraceSource source) {
        return source.set() + "/" + source.name();
    }

    /** @return the traces bundled in this jar, in the order of the bundle's index */
    public static List<TraceSource> bundled() {
        try (InputStream in = TraceFinder.class.getResourceAsStream(TraceSource.BUNDLE + INDEX)) {
            if (in == null) {
                throw new IllegalStateException("the bundled trace index is missing from the jar");
            }
            List<TraceSource> sources = new ArrayList<>();
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                String resource = line.strip();
                if (!resource.isEmpty() && !resource.startsWith("#")) {
                    sources.add(TraceSource.bundled(resource));
                }
            }
            return sources;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<TraceSource> expand(Path path) {
        if (Files.isRegularFile(path)) {
            return List.of(TraceSource.file(path));
        }
        if (Files.exists(path) && !Files.isDirectory(path)) {
            throw notRegular("not a regular file or folder: ", path);
        }
        if (!Files.isDirectory(path)) {
            throw new IllegalArgumentException("no such file or folder: " + path);
        }
        List<TraceSource> sources = traceFiles(path).stream().map(TraceSource::file).toList();
        if (sources.isEmpty()) {
            throw new IllegalArgumentException("no *.rep or *.rep.gz trace in folder " + path);
        }
        return sources;
    }

    /**
     * The trace files under {@code folder}, following symbolic links, as {@code find -L} does, so
     * that a folder reached through a link is searched like any other. A link back to a folder
     * being searched is a loop, and skipped: what it leads to is searched already.
     */
    private static List<Path> traceFiles(Path folder) {
        List<Path> traces = new ArrayList<>();
        try {
            Files.walkFileTree(folder, Set.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE,
                    new SimpleFileVisitor<>() {
                        @Override
                        public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
                            if (TraceSource.isTraceFile(file.getFileName().toString())) {
                                if (!attributes.isRegularFile()) {
                                    // Named as a trace, so meant as one: skipping it would replay less than was asked.
                                    throw notRegular("not a regular file, in folder " + folder + ": ", file);
                                }
                                traces.add(file);
                            }
                            return FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                            if (e instanceof FileSystemLoopException) {
                                return FileVisitResult.CONTINUE;
                            }
                            throw e;
                        }
                    });
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot search folder " + folder + ": " + Problems.describe(e), e);
        }
        traces.sort(null);
        return traces;
    }

    /**
     * The parent parses each trace and every allocator's worker reads it again: a stream read once
     * would reach the first reader only.
     */
    private static IllegalArgumentException notRegular(String what, Path path) {
        String kind = Files.exists(path) ? "a pipe, socket or device cannot be replayed" : "a link that leads to no file";
        return new IllegalArgumentException(what + path + " (" + kind + "; copy the trace to a file)");
    }
}
