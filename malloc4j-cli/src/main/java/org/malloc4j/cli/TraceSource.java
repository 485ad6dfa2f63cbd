package org.malloc4j.cli;

import java.io.BufferedInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Where a trace comes from: a file ({@code .rep}, or gzipped {@code .rep.gz}) or a trace bundled in
 * this jar. A source travels to worker processes as its {@linkplain #spec() spec}, one line of text.
 *
 * @param name the trace's name: the file name without {@code .rep} / {@code .rep.gz}
 * @param set the trace set: the name of the folder the trace is in
 * @param display how messages name it: the path as given, or {@code bundled:set/file}
 * @param spec what {@link #fromSpec} turns back into this source: an absolute path, or
 *     {@code bundled:} and the resource path under {@value #BUNDLE}
 */
public record TraceSource(String name, String set, String display, String spec) {
    /** The resource folder of the bundled traces, next to this class. */
    static final String BUNDLE = "traces/";

    private static final String BUNDLED = "bundled:";

    /**
     * @param path a trace file, {@code .rep} or {@code .rep.gz}
     * @return its source; the set is the name of the file's folder
     */
    public static TraceSource file(Path path) {
        Path absolute = path.toAbsolutePath().normalize();
        Path folder = absolute.getParent();
        String set = folder == null || folder.getFileName() == null ? "." : folder.getFileName().toString();
        return new TraceSource(traceName(absolute.getFileName().toString()), set, path.toString(),
                absolute.toString());
    }

    /**
     * @param resource a path under {@value #BUNDLE}, such as {@code malloclab/binary-bal.rep.gz}
     * @return the bundled trace's source; the set is the resource's folder
     */
    public static TraceSource bundled(String resource) {
        int slash = resource.lastIndexOf('/');
        String set = slash < 0 ? "bundled" : resource.substring(resource.lastIndexOf('/', slash - 1) + 1, slash);
        return new TraceSource(traceName(resource.substring(slash + 1)), set, BUNDLED + resource,
                BUNDLED + resource);
    }

    /**
     * @param spec a {@linkplain #spec() spec}
     * @return the source it names
     */
    public static TraceSource fromSpec(String spec) {
        return spec.startsWith(BUNDLED) ? bundled(spec.substring(BUNDLED.length())) : file(Path.of(spec));
    }

    /** @return whether this is a trace file's name: {@code *.rep} or {@code *.rep.gz} */
    static boolean isTraceFile(String fileName) {
        return fileName.endsWith(".rep") || fileName.endsWith(".rep.gz");
    }

    /**
     * Reads and parses the trace.
     *
     * @return the trace
     * @throws TraceFormatException if it is not a valid trace
     * @throws IOException if it cannot be read (a missing file, a corrupt gzip stream)
     */
    public Trace read() throws TraceFormatException, IOException {
        try (InputStream in = open()) {
            return TraceParser.parse(in, display, name, set);
        }
    }

    /**
     * @return the trace's text, decompressed if the data is gzip (recognized by its magic number,
     *     whatever the file is called)
     * @throws IOException if it cannot be opened
     */
    public InputStream open() throws IOException {
        BufferedInputStream raw = new BufferedInputStream(openRaw(), 1 << 16);
        raw.mark(2);
        boolean gzip = raw.read() == 0x1F && raw.read() == 0x8B;
        raw.reset();
        return gzip ? new GZIPInputStream(raw, 1 << 16) : raw;
    }

    private InputStream openRaw() throws IOException {
        if (spec.startsWith(BUNDLED)) {
            InputStream in = TraceSource.class.getResourceAsStream(BUNDLE + spec.substring(BUNDLED.length()));
            if (in == null) {
                throw new FileNotFoundException(display + " is not in this jar");
            }
            return in;
        }
        return Files.newInputStream(Path.of(spec));
    }

    private static String traceName(String fileName) {
        String name = fileName.endsWith(".gz") ? fileName.substring(0, fileName.length() - 3) : fileName;
        return name.endsWith(".rep") ? name.substring(0, name.length() - 4) : name;
    }
}
