package org.malloc4j.cli;

import java.io.BufferedInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.zip.GZIPInputStream;

/**
 * Where a trace comes from: a file ({@code .rep}, or gzipped {@code .rep.gz}) or a trace bundled in
 * this jar. A source travels to worker processes whole, as a {@link WorkerProtocol} line.
 *
 * @param name the trace's name: the file name without {@code .rep} / {@code .rep.gz}, unless another
 *     trace of the set has that name too (see {@link TraceFinder#find})
 * @param set the trace set: the name of the folder the trace is in
 * @param display how messages name it: the path as given, or {@code bundled:set/file}
 * @param spec where it is read from, one source per spec: an absolute path, or {@code bundled:}
 *     and the resource path under {@value #BUNDLE}
 */
public record TraceSource(String name, String set, String display, String spec) {
    /** The resource folder of the bundled traces, next to this class. */
    static final String BUNDLE = "traces/";

    private static final String BUNDLED = "bundled:";

    /** Every field is needed: a source comes from a worker's input, which anyone could write. */
    public TraceSource {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(set, "set");
        Objects.requireNonNull(display, "display");
        Objects.requireNonNull(spec, "spec");
    }

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
     * @param other another name
     * @return this source under that name
     */
    TraceSource withName(String other) {
        return new TraceSource(other, set, display, spec);
    }

    /** @return the file name, with its extension: {@code amptjp-bal.rep.gz} */
    String fileName() {
        return spec.startsWith(BUNDLED) ? spec.substring(spec.lastIndexOf('/') + 1)
                : Path.of(spec).getFileName().toString();
    }

    /** @return the trace's file, or null for a trace bundled in the jar */
    Path file() {
        return spec.startsWith(BUNDLED) ? null : Path.of(spec);
    }

    /** @return whether this is a trace file's name: {@code *.rep} or {@code *.rep.gz} */
    static boolean isTraceFile(String fileName) {
        return fileName.endsWith(".rep") || fileName.endsWith(".rep.gz");
    }

    /**
     * Reads and parses the trace, decompressing it if the data is gzip (recognized by its magic
     * number, whatever the file is called).
     *
     * @return the trace
     * @throws TraceFormatException if it is not a valid trace
     * @throws IOException if it cannot be read (a missing file, a corrupt gzip stream, bytes after
     *     the gzip data), with a message in words: {@code cannot be read: permission denied},
     *     {@code the gzip data is truncated or corrupt (unexpected end of ZLIB input stream)}
     */
    public Trace read() throws TraceFormatException, IOException {
        boolean gzip = false;
        try (BufferedInputStream raw = new BufferedInputStream(openRaw(), 1 << 16)) {
            raw.mark(2);
            gzip = raw.read() == 0x1F && raw.read() == 0x8B;
            raw.reset();
            if (!gzip) {
                return parseText(raw);
            }
            try (InputStream in = new WholeGzip(raw)) {
                return TraceParser.parse(in, display, name, set);
            }
        } catch (TrailingBytesException e) {
            throw e;
        } catch (IOException e) {
            throw new IOException(gzip ? "the gzip data is truncated or corrupt (" + Problems.reason(e) + ")"
                    : "cannot be read: " + Problems.reason(e), e);
        }
    }

    /**
     * Parses data that is not gzip; one named {@code .gz} is read as text all the same (the magic
     * number decides), but a problem found in it says that it was not gzip data, which is the more
     * likely mistake.
     */
    private Trace parseText(InputStream raw) throws TraceFormatException, IOException {
        try {
            return TraceParser.parse(raw, display, name, set);
        } catch (TraceFormatException e) {
            if (!fileName().endsWith(".gz")) {
                throw e;
            }
            throw new TraceFormatException(e.file(), e.line(), e.problem()
                    + " (the file is named .gz but holds no gzip data, so it was read as text)");
        }
    }

    /** Bytes after the gzip data that are not gzip data. */
    private static final class TrailingBytesException extends IOException {
        private static final long serialVersionUID = 1L;

        TrailingBytesException() {
            super("the gzip data is followed by bytes that are not gzip data");
        }
    }

    /**
     * Gzip data that must end where the file ends. {@link GZIPInputStream} reads the members of a
     * concatenated file one after the other, but takes bytes after the last member that do not
     * start another for the end of the data, and drops them: a trace with text appended to its
     * gzip data would be replayed without it. (What it reads to look for another member is gone
     * for this check; that escapes it only for a few bytes right after a member that ends exactly
     * where a 64 KiB read of the file did.)
     */
    private static final class WholeGzip extends GZIPInputStream {
        /** The CRC-32 and length that end a gzip member. */
        private static final int TRAILER_BYTES = 8;

        WholeGzip(InputStream in) throws IOException {
            super(in, 1 << 16);
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int read = super.read(buffer, offset, length);
            // at the end, the inflater still holds what it was given after the last member's data
            if (read < 0 && (inf.getRemaining() > TRAILER_BYTES || in.read() >= 0)) {
                throw new TrailingBytesException();
            }
            return read;
        }
    }

    private InputStream openRaw() throws IOException {
        if (spec.startsWith(BUNDLED)) {
            InputStream in = TraceSource.class.getResourceAsStream(BUNDLE + spec.substring(BUNDLED.length()));
            if (in == null) {
                throw new FileNotFoundException(Units.path(display) + " is not in this jar");
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
