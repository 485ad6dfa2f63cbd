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
 * allowed; the replay frees them after the last request. Not every id of {@code 0..num_ids-1} need
 * appear.
 *
 * <p>The first problem ends the parse with a {@link TraceFormatException} naming the file, the line
 * and the problem. While parsing it also measures the trace's peak live bytes.
 *
 * <p>The header's counts size nothing before the body backs them: a few bytes of header can claim
 * 2<sup>24</sup> ids and ops. The requests are read first, into arrays that grow as requests
 * arrive; only once the file has held {@code num_ops} of them (and {@code num_ids <= num_ops}) are
 * the per-id arrays made, for the checks of which ids are live.
 */
public final class TraceParser {
    /**
     * The most requests a trace may have: parsing keeps 17 bytes a request (13 once parsed), and its
     * arrays double as they grow; a worker's Java heap is sized for them (see
     * {@link WorkerLauncher#heapMiB}), about 2 GiB at this limit. The largest real trace here has
     * 1.6 million.
     */
    static final long MAX_OPS = 1L << 24;

    private static final String[] HEADER = {"heap size", "num_ids", "num_ops", "weight"};
    private static final int NUM_IDS = 1;
    private static final int NUM_OPS = 2;
    private static final int NOT_LIVE = -1;

    private final TokenReader tokens;
    private final String file;
    private final long[] header = new long[HEADER.length];
    /** The line each header number is on: the whitespace between them is free. */
    private final long[] headerLines = new long[HEADER.length];
    private int numIds;
    private byte[] kinds;
    private int[] ids;
    private long[] sizes;
    /**
     * Per request: how many lines after the previous request it starts. Gaps, not lines, so that 4
     * bytes a request hold any real file's numbering (a gap over 2<sup>31</sup> blank lines is
     * clamped).
     */
    private int[] lineGaps;
    private long previousLine;
    private int maxId = -1;
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
        int numOps = (int) header[NUM_OPS];
        numIds = (int) header[NUM_IDS];
        int capacity = Math.min(numOps, 1 << 16);
        kinds = new byte[capacity];
        ids = new int[capacity];
        sizes = new long[capacity];
        lineGaps = new int[capacity];
        int read = 0;
        try {
            for (; read < numOps; read++) {
                readOp(read, numOps);
            }
        } catch (TraceFormatException e) {
            throw firstProblem(read, e);
        }
        checkLiveness(numOps, numIds);
        if (tokens.next()) {
            long line = tokens.tokenLine();
            if (numOps > 0 && line == previousLine && !isOp()) {
                throw extraToken(line, numOps - 1);
            }
            throw error(line, "op count mismatch: the header says " + Units.plural(numOps, "op")
                    + ", but more follow ('" + extraRequest() + "')");
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
            headerLines[i] = tokens.tokenLine();
        }
        long ids = header[NUM_IDS];
        long ops = header[NUM_OPS];
        if (ops < 0 || ops > MAX_OPS) {
            throw error(headerLines[NUM_OPS], "header: num_ops " + ops + " is not within 0.." + MAX_OPS);
        }
        if (ids < 0 || ids > ops) {
            String why = ids < 0 ? "" : ": " + Units.plural(ops, "op") + " can name at most "
                    + Units.plural(ops, "id");
            throw error(headerLines[NUM_IDS], "header: num_ids " + ids + " is not within 0..num_ops (" + ops
                    + ")" + why);
        }
    }

    private void readOp(int op, int numOps) throws TraceFormatException, IOException {
        if (!tokens.next()) {
            throw error(tokens.tokenLine(), "op count mismatch: the header says " + Units.plural(numOps, "op")
                    + ", the file has " + op);
        }
        long line = tokens.tokenLine();
        byte kind = readKind(op, line);
        int id = readId(kind, line);
        long size = kind == Trace.FREE ? 0 : readSize(kind, id, line);
        append(op, numOps, kind, id, size, line);
    }

    private byte readKind(int op, long line) throws TraceFormatException {
        if (tokens.is('a')) {
            return Trace.ALLOC;
        }
        if (tokens.is('r')) {
            return Trace.REALLOC;
        }
        if (tokens.is('f')) {
            return Trace.FREE;
        }
        if (op > 0 && line == previousLine) {
            throw extraToken(line, op - 1);
        }
        throw error(line, "unknown op '" + tokens.text() + "' (expected a, r or f)");
    }

    /** @return whether the present token is an op: {@code a}, {@code r} or {@code f} */
    private boolean isOp() {
        return tokens.is('a') || tokens.is('r') || tokens.is('f');
    }

    /**
     * Requests are read token by token, as the CS:APP driver reads them: a token that is no op, past
     * the last request on its line, is where the next request's op should be. Said the same way
     * after the trace's last request as after any other.
     *
     * @param line the present token's line, that of request {@code op}
     */
    private TraceFormatException extraToken(long line, int op) {
        return error(line, "extra token '" + tokens.text() + "' after the request '" + request(op)
                + "' (a request is an op, an id and, for a and r, a size)");
    }

    /** @return request {@code op} as the file gives it: {@code a 0 10}, {@code f 0} */
    private String request(int op) {
        String request = (char) kinds[op] + " " + ids[op];
        return kinds[op] == Trace.FREE ? request : request + " " + sizes[op];
    }

    private int readId(byte kind, long line) throws TraceFormatException, IOException {
        String op = String.valueOf((char) kind);
        if (!tokens.next()) {
            throw error(line, "missing id after '" + op + "'");
        }
        if (!tokens.isNumber() && !tokens.isOutOfRange()) {
            throw error(line, "'" + op + "' needs a block id, found '" + tokens.text() + "'");
        }
        if (tokens.isOutOfRange() || tokens.number() < 0 || tokens.number() >= numIds) {
            String id = tokens.text();
            // the whole request, its size too (read on, as the parse ends here anyway)
            String request = op + " " + id + (kind == Trace.FREE ? "" : nextTokenOf(line));
            String valid = numIds == 0 ? "the trace can name no id" : "ids are 0.." + (numIds - 1);
            throw error(line, "id " + id + " out of range in '" + request + "': num_ids is "
                    + numIds + ", so " + valid);
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
            throw error(line, !isPartOfRequestOn(line)
                    ? "missing size: '" + op + "' needs a size, found '" + tokens.text() + "'" + onLaterLine(line)
                    : "'" + tokens.text() + "' is not a valid size in '" + op + " " + tokens.text()
                            + "': a size is a decimal integer 0.." + Long.MAX_VALUE);
        }
        long size = tokens.number();
        if (size < 0) {
            throw error(line, "negative size in '" + op + " " + tokens.text() + "'");
        }
        return size;
    }

    /**
     * @param line the line the request starts on
     * @return whether the current token, read after a request's op, belongs to that request: a number,
     *     wherever it is (whitespace is free, as for {@code fscanf}), or anything else on the request's
     *     own line but an op. The next request's op, or a token that is no number on a later line,
     *     means the request ended before it.
     */
    private boolean isPartOfRequestOn(long line) {
        return tokens.isNumber() || tokens.isOutOfRange()
                || tokens.tokenLine() == line && !tokens.is('a') && !tokens.is('r') && !tokens.is('f');
    }

    /** @return where the current token is, if not on {@code line}: the message names that line, not the token's */
    private String onLaterLine(long line) {
        return tokens.tokenLine() == line ? "" : " on line " + tokens.tokenLine();
    }

    /**
     * Reads on, for a message that quotes a whole request.
     *
     * @param line the line the request starts on
     * @return the next token, after a space, if it belongs to the request (see {@link #isPartOfRequestOn});
     *     otherwise, or at the end of the file, nothing
     */
    private String nextTokenOf(long line) throws IOException {
        return tokens.next() && isPartOfRequestOn(line) ? " " + tokens.text() : "";
    }

    /**
     * Reads on from the current token, the first one after the header's {@code num_ops} requests.
     *
     * @return the request it starts as written, its id and size with it; or the token alone if it is no op
     */
    private String extraRequest() throws IOException {
        String request = tokens.text();
        boolean free = tokens.is('f');
        if (!isOp()) {
            return request;
        }
        long line = tokens.tokenLine();
        String id = nextTokenOf(line);
        return request + id + (free || id.isEmpty() ? "" : nextTokenOf(line));
    }

    private void append(int op, int numOps, byte kind, int id, long size, long line) {
        if (op == kinds.length) {
            int capacity = (int) Math.min(numOps, 2L * kinds.length);
            kinds = Arrays.copyOf(kinds, capacity);
            ids = Arrays.copyOf(ids, capacity);
            sizes = Arrays.copyOf(sizes, capacity);
            lineGaps = Arrays.copyOf(lineGaps, capacity);
        }
        kinds[op] = kind;
        ids[op] = id;
        sizes[op] = size;
        lineGaps[op] = (int) Math.min(line - previousLine, Integer.MAX_VALUE);
        previousLine = line;
        maxId = Math.max(maxId, id);
    }

    /**
     * @param read the requests read before {@code later}
     * @param later a problem in the request after them, or the end of the file too soon
     * @return the problem on the earliest line: a request read before that names an id not live, or
     *     {@code later}. The requests read are checked only when their ids fit arrays as long as
     *     they are, so a short file naming a huge id allocates nothing for it.
     */
    private TraceFormatException firstProblem(int read, TraceFormatException later) {
        if (maxId >= read) {
            return later;
        }
        try {
            checkLiveness(read, maxId + 1);
        } catch (TraceFormatException earlier) {
            return earlier;
        }
        return later;
    }

    /**
     * Replays the requests' effect on which ids are live.
     *
     * @param count how many requests, from the first, to check
     * @param idCount the length of the per-id arrays: above every id of those requests, and bounded by
     *     {@code count} (the header check bounds {@code num_ids} by {@code num_ops}), so that the
     *     arrays are as long as the file, not the header, allows
     */
    private void checkLiveness(int count, int idCount) throws TraceFormatException {
        liveSize = new long[idCount];
        Arrays.fill(liveSize, NOT_LIVE);
        lastLine = new long[idCount];
        liveBytes = 0;
        peakLiveBytes = 0;
        long line = 0;
        for (int op = 0; op < count; op++) {
            line += lineGaps[op];
            apply(kinds[op], ids[op], sizes[op], line);
        }
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
        long change = (kind == Trace.FREE ? 0 : size) - (live ? liveSize[id] : 0);
        if (change > Long.MAX_VALUE - liveBytes) {
            // the peak live bytes would wrap round; no allocator could hold such a trace anyway
            String op = (kind == Trace.ALLOC ? "a " : "r ") + id + " " + size;
            throw error(line, "'" + op + "' makes the live blocks add up to more than " + Long.MAX_VALUE + " bytes");
        }
        liveBytes += change;
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        liveSize[id] = kind == Trace.FREE ? NOT_LIVE : size;
        lastLine[id] = line;
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
