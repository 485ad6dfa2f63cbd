package org.malloc4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/** Writes a {@link ReplayReport} as indented JSON, to a file or to standard output ({@code -}). */
final class JsonReport {
    /** The {@code --json} target that means standard output. */
    static final String STDOUT = "-";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonReport() {
    }

    /**
     * Checks, before a run, that the report can be written where {@code --json} says: the target is
     * not a folder, nor named as one (a trailing {@code /}) or as a trace ({@code .rep},
     * {@code .rep.gz}), and its folder exists and can be written to.
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
        if (!Files.exists(folder)) {
            return "folder " + folder + " does not exist";
        }
        if (!Files.isDirectory(folder)) {
            return folder + " is not a folder";
        }
        if (Files.exists(file) ? !Files.isWritable(file) : !Files.isWritable(folder)) {
            return "cannot write " + (Files.exists(file) ? "this file" : "in folder " + folder) + ": permission denied";
        }
        return null;
    }

    /**
     * @param report the report
     * @param target a file path, or {@value #STDOUT}
     * @param out standard output
     * @throws IOException if the file or standard output cannot be written
     */
    static void write(ReplayReport report, String target, PrintWriter out) throws IOException {
        String json = JSON.writeValueAsString(report);
        if (target.equals(STDOUT)) {
            out.println(json);
            // a PrintWriter keeps a failed write (a full disk, a closed pipe) to itself until asked
            if (out.checkError()) {
                throw new IOException("the write failed");
            }
        } else {
            Files.writeString(Path.of(target), json + System.lineSeparator());
        }
    }
}
