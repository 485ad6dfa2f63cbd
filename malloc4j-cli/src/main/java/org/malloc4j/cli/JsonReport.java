package org.malloc4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Writes a {@link ReplayReport} as indented JSON, to a file, or to standard output ({@code -}) or
 * standard error.
 */
final class JsonReport {
    /** The {@code --json} target that means standard output. */
    static final String STDOUT = "-";

    /** Where standard output goes: a terminal, a pipe, or the file it is redirected to. */
    private static final Path STANDARD_OUTPUT = Path.of("/proc/self/fd/1");

    /** Where standard error goes. */
    private static final Path STANDARD_ERROR = Path.of("/proc/self/fd/2");

    /** A standard stream that a {@code --json} target can be, written through instead of opened as a file. */
    enum StandardStream {
        OUTPUT("standard output"),
        ERROR("standard error");

        /** How messages name it. */
        final String description;

        StandardStream(String description) {
            this.description = description;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonReport() {
    }

    /**
     * Checks, before a run, that the report can be written where {@code --json} says: the target is
     * not a folder, nor named as one (a trailing {@code /}) or as a trace ({@code .rep},
     * {@code .rep.gz}), and its folder exists and can be written to. The last is tried, not read
     * from permissions, which miss a read-only file system and one that takes no new files
     * ({@code /proc}): a file that does not exist is made and deleted, an existing regular file is
     * opened for writing without being truncated, so it stays as it was until the report replaces it.
     * A link to a file not made yet is checked where it leads, where the report will make the file.
     *
     * @param target a file path, or {@value #STDOUT}
     * @return what is wrong with it, or null if nothing is
     */
    static String checkTarget(String target) {
        if (target.equals(STDOUT)) {
            return null;
        }
        if (target.isBlank()) {
            return "not a file name";
        }
        Path file;
        try {
            file = Path.of(target).toAbsolutePath();
        } catch (InvalidPathException e) {
            return "not a valid path (" + e.getReason() + ")";
        }
        Path folder = file.getParent();
        if (folder == null || Files.isDirectory(file)) {
            return "is a folder; give the path of a file to write";
        }
        // Path drops a trailing '/': "out/" would be written as a file named "out"
        if (target.endsWith("/")) {
            return "names a folder (it ends with '/'); give the path of a file to write";
        }
        // "--json x.rep", with the trace meant as an argument of its own, would overwrite the trace
        if (TraceSource.isTraceFile(file.getFileName().toString())) {
            return "is named as a trace (.rep, .rep.gz), not as a report; give the JSON report another file name";
        }
        if (!Files.exists(file) && Files.isSymbolicLink(file)) {
            // A link to a file not made yet: the report makes that file through it, so the folder
            // that counts is the one it leads to.
            Path linked = Links.end(file);
            if (linked == null) {
                return "is a link that leads to no file (a loop of links)";
            }
            String problem = checkTarget(linked.toString());
            return problem == null ? null : "links to " + Units.path(linked) + ": " + problem;
        }
        if (!Files.exists(folder)) {
            return "folder " + Units.path(folder) + " does not exist";
        }
        if (!Files.isDirectory(folder)) {
            return Units.path(folder) + " is not a folder";
        }
        boolean exists = Files.exists(file);
        try {
            tryWriting(file, exists);
        } catch (IOException e) {
            return "cannot write " + (exists ? "this file" : "in folder " + Units.path(folder)) + ": "
                    + whyNot(e, exists);
        }
        return null;
    }

    /**
     * Checks, once the traces are found and before they are replayed, that the report would not
     * replace one of them. {@link #checkTarget} refuses a target named as a trace; this catches one
     * that is a trace under another name: a link to it, symbolic or hard.
     *
     * @param target a {@code --json} target that {@link #checkTarget} passed
     * @param traces the traces to replay
     * @return what is wrong with the target, or null if it is none of the traces' files
     */
    static String overwritesTrace(String target, List<TraceSource> traces) {
        if (target.equals(STDOUT)) {
            return null;
        }
        Path file = Path.of(target);
        if (!Files.exists(file)) {
            return null;
        }
        for (TraceSource trace : traces) {
            Path traceFile = trace.file();
            if (traceFile != null && isSameFile(file, traceFile)) {
                return "is the trace " + Units.path(trace.display())
                        + " under another name (a link to it); give the JSON report another file";
            }
        }
        return null;
    }

    /** @return whether both paths lead to one file; false if either cannot be read to tell */
    private static boolean isSameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    /** Opens {@code file} for writing, or makes it and deletes it if it does not exist, and writes nothing. */
    private static void tryWriting(Path file, boolean exists) throws IOException {
        if (!exists) {
            Files.createFile(file);
            Files.delete(file);
        } else if (Files.isRegularFile(file)) {
            // Neither TRUNCATE_EXISTING nor a write: the file keeps its bytes.
            FileChannel.open(file, StandardOpenOption.WRITE).close();
        } else if (!Files.isWritable(file)) {
            // A device or a pipe: opening one may block (a pipe with no reader) or act, so only its
            // permissions are read.
            throw new AccessDeniedException(file.toString());
        }
    }

    /** @return why {@link #tryWriting} failed, in words: {@code read-only file system}, {@code permission denied} */
    private static String whyNot(IOException e, boolean exists) {
        if (!exists && e instanceof NoSuchFileException) {
            // The folder is there (checked before), yet making a file in it finds none: /proc
            return "it takes no new files (" + Problems.reason(e) + ")";
        }
        return Problems.reason(e);
    }

    /**
     * @param target a {@code --json} target that {@link #checkTarget} found nothing wrong with
     * @return {@link StandardStream#OUTPUT} if {@code target} is {@value #STDOUT} or where standard
     *     output goes ({@code /dev/stdout}, or the file it is redirected to), which written as a file
     *     would lose the table there or follow it; else {@link StandardStream#ERROR} if it is where
     *     standard error goes ({@code /dev/stderr}, {@code /proc/self/fd/2}, or the file it is
     *     redirected to), which opened as a file would be truncated, losing what was written to
     *     standard error before; else null, for a file of its own
     */
    static StandardStream standardStream(String target) {
        if (target.equals(STDOUT) || isSameFile(target, STANDARD_OUTPUT)) {
            return StandardStream.OUTPUT;
        }
        return isSameFile(target, STANDARD_ERROR) ? StandardStream.ERROR : null;
    }

    private static boolean isSameFile(String target, Path stream) {
        try {
            return Files.isSameFile(Path.of(target), stream);
        } catch (IOException | InvalidPathException e) {
            // no such file yet, or the stream is closed
            return false;
        }
    }

    /**
     * @param report the report
     * @param target a file path
     * @param stream the standard stream {@code target} is, to be written after what it holds, or
     *     null to write {@code target} as a file
     * @throws IOException if the file or the stream cannot be written
     */
    static void write(ReplayReport report, String target, PrintWriter stream) throws IOException {
        String json = JSON.writeValueAsString(report);
        if (stream != null) {
            stream.println(json);
            // a PrintWriter keeps a failed write (a full disk, a closed pipe) to itself until asked
            if (stream.checkError()) {
                throw new IOException("the write failed");
            }
        } else {
            Files.writeString(Path.of(target), json + System.lineSeparator());
        }
    }
}
