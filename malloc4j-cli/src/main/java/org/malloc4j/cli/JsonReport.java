package org.malloc4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes a {@link ReplayReport} as indented JSON, to a file or to standard output ({@code -}). */
final class JsonReport {
    /** The {@code --json} target that means standard output. */
    static final String STDOUT = "-";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonReport() {
    }

    /**
     * @param report the report
     * @param target a file path, or {@value #STDOUT}
     * @param out standard output
     * @throws IOException if the file cannot be written
     */
    static void write(ReplayReport report, String target, PrintWriter out) throws IOException {
        String json = JSON.writeValueAsString(report);
        if (target.equals(STDOUT)) {
            out.println(json);
            out.flush();
        } else {
            Files.writeString(Path.of(target), json + System.lineSeparator());
        }
    }
}
