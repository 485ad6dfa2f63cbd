package org.malloc4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Turns the command line's FILES and DIRS into trace sources: a file is taken as it is, a folder is
 * searched (with its subfolders, and through symbolic links) for {@code *.rep} and
 * {@code *.rep.gz}, sorted by path. With no arguments the traces bundled in the jar are used, in
 * the order of their index.
 */
public final class TraceFinder {
    private static final String INDEX = "index.txt";

    /**
     * What the paths named.
     *
     * @param sources the traces, each with a name of its own in its set
     * @param errors the files that could not be looked at and the folders that could not be
     *     searched (permission denied, say): skipped and reported, as a trace that cannot be read is
     */
    public record Found(List<TraceSource> sources, List<TraceError> errors) {
    }

    private TraceFinder() {
    }

    /**
     * Finds the traces, each named after its file without {@code .rep} or {@code .rep.gz}, unless
     * that name is not unique in the trace's set ({@code a.rep} and {@code a.rep.gz} in one folder;
     * two folders of the same name): then those traces are named by their file names, or, if these
     * are the same too, by their paths as given.
     *
     * @param paths files and folders, in the order given; duplicates are dropped
     * @return the traces they name, and the paths that could not be looked at or searched
     * @throws IllegalArgumentException if a path is empty, does not exist or is neither a regular file nor a
     *     folder (a FIFO), a folder holds no trace and nothing that could not be searched, or holds a
     *     trace that is not a regular file (a FIFO or a broken link named {@code *.rep})
     */
    public static Found find(List<Path> paths) {
        Map<String, TraceSource> found = new LinkedHashMap<>();
        List<TraceError> errors = new ArrayList<>();
        for (Path path : paths) {
            for (TraceSource source : expand(path, errors)) {
                found.putIfAbsent(source.spec(), source);
            }
        }
        List<TraceSource> sources = rename(List.copyOf(found.values()), TraceSource::fileName);
        return new Found(rename(sources, TraceSource::display), List.copyOf(errors));
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

    private static List<TraceSource> expand(Path path, List<TraceError> errors) {
        if (path.toString().isEmpty()) {
            // Path.of("") is the current folder: an empty argument (an unset variable) would search it
            throw new IllegalArgumentException("an empty FILE|DIR argument ('') names no file or folder");
        }
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(Files.isSymbolicLink(path) ? brokenLink(path)
                    : "no such file or folder: " + Units.path(path));
        } catch (AccessDeniedException e) {
            // in a folder that cannot be searched: as a trace that cannot be read
            errors.add(new TraceError(path.toString(), 0, "cannot be read: " + Problems.reason(e)));
            return List.of();
        } catch (IOException e) {
            // a loop of links is an IOException of its own (ELOOP), in the JDK's words
            Path end = Files.isSymbolicLink(path) ? Links.end(path) : path;
            throw new IllegalArgumentException(end == null ? brokenLink(path) : Problems.describe(e), e);
        }
        if (attributes.isRegularFile()) {
            return List.of(TraceSource.file(path));
        }
        if (!attributes.isDirectory()) {
            throw notRegular("not a regular file or folder: ", path);
        }
        int errorsBefore = errors.size();
        List<TraceSource> sources = traceFiles(path, errors).stream().map(TraceSource::file).toList();
        if (sources.isEmpty() && errors.size() == errorsBefore) {
            throw new IllegalArgumentException("no *.rep or *.rep.gz trace in folder " + Units.path(path));
        }
        return sources;
    }

    /**
     * The trace files under {@code folder}, following symbolic links, as {@code find -L} does, so
     * that a folder reached through a link is searched like any other. A link back to a folder
     * being searched is a loop, and skipped: what it leads to is searched already. A folder that
     * cannot be searched, or an entry that cannot be looked at, goes to {@code errors}, and the
     * search goes on without it.
     */
    private static List<Path> traceFiles(Path folder, List<TraceError> foundErrors) {
        List<Path> traces = new ArrayList<>();
        List<TraceError> errors = new ArrayList<>();
        try {
            Files.walkFileTree(folder, Set.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE,
                    new SimpleFileVisitor<>() {
                        @Override
                        public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes) {
                            // listed, but without search permission none of its entries can be looked at
                            if (!Files.isExecutable(dir)) {
                                errors.add(new TraceError(dir.toString(), 0, "cannot be searched: permission denied"));
                                return FileVisitResult.SKIP_SUBTREE;
                            }
                            return FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
                            if (TraceSource.isTraceFile(file.getFileName().toString())) {
                                if (!attributes.isRegularFile()) {
                                    // Named as a trace, so meant as one: skipping it would replay less than was asked.
                                    String in = ", in folder " + Units.path(folder) + ": ";
                                    throw Files.exists(file) ? notRegular("not a regular file" + in, file)
                                            : new IllegalArgumentException(brokenLink(
                                                    "a link that leads to no file or folder" + in, file));
                                }
                                traces.add(file);
                            }
                            return FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFileFailed(Path file, IOException e) {
                            if (!(e instanceof FileSystemLoopException)) {
                                String what = Files.isDirectory(file) ? "cannot be searched: " : "cannot be read: ";
                                errors.add(new TraceError(file.toString(), 0, what + Problems.reason(e)));
                            }
                            return FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult postVisitDirectory(Path dir, IOException e) {
                            if (e != null) {
                                errors.add(new TraceError(dir.toString(), 0, "cannot be searched: "
                                        + Problems.reason(e)));
                            }
                            return FileVisitResult.CONTINUE;
                        }
                    });
        } catch (IOException e) {
            // the visitor throws none
            throw new UncheckedIOException(e);
        }
        traces.sort(null);
        errors.sort(Comparator.comparing(TraceError::file));
        foundErrors.addAll(errors);
        return traces;
    }

    /** @return what is wrong with {@code link}, a symbolic link that leads to no file or folder */
    private static String brokenLink(Path link) {
        return brokenLink("a link that leads to no file or folder: ", link);
    }

    /** @return {@code what}, then {@code link}, with the missing file it leads to or the loop of links */
    private static String brokenLink(String what, Path link) {
        Path end = Links.end(link);
        return what + Units.path(link) + (end == null ? " (a loop of links)"
                : " (" + Units.path(end) + " does not exist)");
    }

    /**
     * The parent parses each trace and every allocator's worker reads it again: a stream read once
     * would reach the first reader only.
     */
    private static IllegalArgumentException notRegular(String what, Path path) {
        return new IllegalArgumentException(what + Units.path(path) + " (a pipe, socket or device cannot be replayed; "
                + "copy the trace to a file)");
    }
}
