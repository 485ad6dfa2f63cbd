package org.malloc4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Reads a CS:APP malloc-lab trace ({@code .rep}) strictly: the four header numbers (heap size,
 * {@code num_ids}, {@code num_ops}, weight), then exactly {@code num_ops} requests {@code a id size},
 * {@code r id size} and {@code f id}, separated by any whitespace. Besides the syntax it checks what
 * a replay relies on: ids within {@code 0..num_ids-1}, sizes not negative, {@code a} only on an id
 * that is not live, {@code r} and {@code f} only on a live one. Blocks still live at the end are
 * allowed; the replay frees them after the last request.
 *
 * <p>The first problem ends the parse with a {@link TraceFormatException} naming the file, the line
 * and the problem. While parsing it also measures the trace's peak live bytes.
 */
public final class TraceParser {
    /** The most requests a trace may have (arrays of 13 bytes a request must fit a worker's heap). */
    static final long MAX_OPS = 1L << 26;

    private static final String[] HEADER = {"heap size", "num_ids", "num_ops", "weight"};
    private static final int NOT_LIVE = -1;

    private final TokenReader tokens;
    private final String file;
    private final long[] header = new long[HEADER.length];
    private byte[] kinds;
    private int[] ids;
    private long[] sizes;
    /** Per id: the live block's size, or {@link #NOT_LIVE}. */
    private long[] liveSize;
    /** Per id: the line of the id's last {@code a}, {@code r} or {@code f} (0: never used). */
    private long[] lastLine;
    private long liveBytes;
    private long peakLiveBytes;

    private TraceParser(InputStream in, String file) {
        this.tokens = new TokenReader(in);
        this.file = file;
    }

    /**
     * Parses a whole trace.
     *
     * @param in the trace text, already decompressed; not closed
     * @param file the file name to put in error messages
     * @param name the trace's name
     * @param set the trace set it belongs to
     * @return the trace
     * @throws TraceFormatException if the text is not a valid trace
     * @throws IOException if reading fails
     */
    public static Trace parse(InputStream in, String file, String name, String set)
            throws TraceFormatException, IOException {
        return new TraceParser(in, file).parse(name, set);
    }

    private Trace parse(String name, String set) throws TraceFormatException, IOException {
        readHeader();
        int numOps = (int) header[2];
        int numIds = (int) header[1];
        allocate(numOps, numIds);
        for (int op = 0; op < numOps; op++) {
            readOp(op, numOps);
        }
        if (tokens.next()) {
            throw error(tokens.tokenLine(), "op count mismatch: the header says " + Units.plural(numOps, "op")
                    + ", but more follow ('" + tokens.text() + "')");
        }
        return new Trace(name, set, header, kinds, ids, sizes, liveAtEnd(), peakLiveBytes);
    }

    private void readHeader() throws TraceFormatException, IOException {
        for (int i = 0; i < HEADER.length; i++) {
            if (!tokens.next()) {
                throw error(tokens.tokenLine(), "header: missing " + HEADER[i]
                        + " (the header is 4 numbers: heap size, num_ids, num_ops, weight)");
            }
            if (tokens.isOutOfRange()) {
                throw error(tokens.tokenLine(), "header: " + HEADER[i] + " " + tokens.text()
                        + " is out of range: it must fit in a 64-bit integer");
            }
            if (!tokens.isNumber()) {
                throw error(tokens.tokenLine(), "header: " + HEADER[i] + " must be a number, found '"
                        + tokens.text() + "'");
            }
            header[i] = tokens.number();
        }
        long numIds = header[1];
        long numOps = header[2];
        if (numOps < 0 || numOps > MAX_OPS) {
            throw error(tokens.tokenLine(), "header: num_ops " + numOps + " is not within 0.." + MAX_OPS);
        }
        if (numIds < 0 || numIds > numOps) {
            throw error(tokens.tokenLine(), "header: num_ids " + numIds + " is not within 0..num_ops ("
                    + numOps + "): each id must be allocated at least once");
        }
    }

    private void allocate(int numOps, int numIds) {
        int capacity = Math.min(numOps, 1 << 16);
        kinds = new byte[capacity];
        ids = new int[capacity];
        sizes = new long[capacity];
        liveSize = new long[numIds];
        Arrays.fill(liveSize, NOT_LIVE);
        lastLine = new long[numIds];
    }

    private void readOp(int op, int numOps) throws TraceFormatException, IOException {
        if (!tokens.next()) {
            throw error(tokens.tokenLine(), "op count mismatch: the header says " + Units.plural(numOps, "op")
                    + ", the file has " + op);
        }
        long line = tokens.tokenLine();
        byte kind = readKind(line);
        int id = readId(kind, line);
        long size = kind == Trace.FREE ? 0 : readSize(kind, id, line);
        apply(kind, id, size, line);
        append(op, numOps, kind, id, size);
    }

    private byte readKind(long line) throws TraceFormatException {
        if (tokens.is('a')) {
            return Trace.ALLOC;
        }
        if (tokens.is('r')) {
            return Trace.REALLOC;
        }
        if (tokens.is('f')) {
            return Trace.FREE;
        }
        throw error(line, "unknown op '" + tokens.text() + "' (expected a, r or f)");
    }

    private int readId(byte kind, long line) throws TraceFormatException, IOException {
        String op = String.valueOf((char) kind);
        if (!tokens.next()) {
            throw error(line, "missing id after '" + op + "'");
        }
        if (!tokens.isNumber() && !tokens.isOutOfRange()) {
            throw error(line, "'" + op + "' needs a block id, found '" + tokens.text() + "'");
        }
        if (tokens.isOutOfRange() || tokens.number() < 0 || tokens.number() >= liveSize.length) {
            String id = tokens.text();
            throw error(line, "id " + id + " out of range in '" + op + " " + id + "': num_ids is "
                    + liveSize.length + ", so ids are 0.." + (liveSize.length - 1));
        }
        return (int) tokens.number();
    }

    private long readSize(byte kind, int id, long line) throws TraceFormatException, IOException {
        String op = (char) kind + " " + id;
        if (!tokens.next()) {
            throw error(line, "missing size: '" + op + "' needs a size, found the end of the file");
        }
        if (tokens.isOutOfRange()) {
            throw error(line, "size out of range in '" + op + " " + tokens.text() + "': sizes are 0.."
                    + Long.MAX_VALUE);
        }
        if (!tokens.isNumber()) {
            throw error(line, "missing size: '" + op + "' needs a size, found '" + tokens.text() + "'");
        }
        long size = tokens.number();
        if (size < 0) {
            throw error(line, "negative size in '" + op + " " + size + "'");
        }
        return size;
    }

    private void apply(byte kind, int id, long size, long line) throws TraceFormatException {
        boolean live = liveSize[id] != NOT_LIVE;
        if (kind == Trace.ALLOC && live) {
            throw error(line, "'a " + id + " " + size + "' on live id " + id + " (allocated on line "
                    + lastLine[id] + " and not freed since)");
        }
        if (kind != Trace.ALLOC && !live) {
            String op = kind == Trace.FREE ? "f " + id : "r " + id + " " + size;
            String history = lastLine[id] == 0 ? "never allocated" : "freed on line " + lastLine[id];
            throw error(line, "'" + op + "' on id " + id + ", which is not live (" + history + ")");
        }
        liveBytes += (kind == Trace.FREE ? 0 : size) - (live ? liveSize[id] : 0);
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        liveSize[id] = kind == Trace.FREE ? NOT_LIVE : size;
        lastLine[id] = line;
    }

    private void append(int op, int numOps, byte kind, int id, long size) {
        if (op == kinds.length) {
            int capacity = (int) Math.min(numOps, 2L * kinds.length);
            kinds = Arrays.copyOf(kinds, capacity);
            ids = Arrays.copyOf(ids, capacity);
            sizes = Arrays.copyOf(sizes, capacity);
        }
        kinds[op] = kind;
        ids[op] = id;
        sizes[op] = size;
    }

    private int[] liveAtEnd() {
        return IntStream.range(0, liveSize.length)
                .filter(id -> liveSize[id] != NOT_LIVE)
                .toArray();
    }

    private TraceFormatException error(long line, String problem) {
        return new TraceFormatException(file, line, problem);
    }
}
