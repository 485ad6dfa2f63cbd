package org.malloc4j.cli;

import java.util.Objects;

/**
 * An allocation trace in memory: the header of a CS:APP {@code .rep} file and its requests, held in
 * parallel primitive arrays (op kind, block id, size) so that traces of millions of requests stay
 * compact and replay without touching Java objects.
 *
 * <p>A trace is immutable. The array accessors return the trace's own arrays for the replay loops;
 * callers must not modify them.
 */
public final class Trace {
    /** Op kind of {@code a id size}: allocate {@code size} bytes as block {@code id}. */
    public static final byte ALLOC = 'a';
    /** Op kind of {@code r id size}: resize live block {@code id} to {@code size} bytes. */
    public static final byte REALLOC = 'r';
    /** Op kind of {@code f id}: free live block {@code id}. */
    public static final byte FREE = 'f';

    private final String name;
    private final String set;
    private final long heapHint;
    private final int numIds;
    private final long weight;
    private final byte[] kinds;
    private final int[] ids;
    private final long[] sizes;
    private final int[] liveAtEnd;
    private final long peakLiveBytes;

    Trace(String name, String set, long[] header, byte[] kinds, int[] ids, long[] sizes,
            int[] liveAtEnd, long peakLiveBytes) {
        this.name = Objects.requireNonNull(name, "name");
        this.set = Objects.requireNonNull(set, "set");
        this.heapHint = header[0];
        this.numIds = Math.toIntExact(header[1]);
        this.weight = header[3];
        this.kinds = kinds;
        this.ids = ids;
        this.sizes = sizes;
        this.liveAtEnd = liveAtEnd;
        this.peakLiveBytes = peakLiveBytes;
    }

    /** @return the trace's name: its file name without {@code .rep} or {@code .rep.gz} */
    public String name() {
        return name;
    }

    /** @return the trace set it belongs to: the name of the folder it came from */
    public String set() {
        return set;
    }

    /** @return header line 1: the suggested heap size (or peak live bytes, or a weight) */
    public long heapHint() {
        return heapHint;
    }

    /** @return header line 2: the number of block ids; ids run from 0 to {@code numIds - 1} */
    public int numIds() {
        return numIds;
    }

    /** @return header line 4: the trace's weight (unused by the replay) */
    public long weight() {
        return weight;
    }

    /** @return the number of requests */
    public int opCount() {
        return kinds.length;
    }

    /** @return the op kind of every request: {@link #ALLOC}, {@link #REALLOC} or {@link #FREE} */
    public byte[] kinds() {
        return kinds;
    }

    /** @return the block id of every request */
    public int[] ids() {
        return ids;
    }

    /** @return the requested size of every request (0 for {@link #FREE}) */
    public long[] sizes() {
        return sizes;
    }

    /** @return ids of the blocks still live after the last request (empty for balanced traces) */
    public int[] liveAtEnd() {
        return liveAtEnd;
    }

    /** @return the peak live bytes: the most the requested sizes of the live blocks ever summed to */
    public long peakLiveBytes() {
        return peakLiveBytes;
    }

    /**
     * @param op a request index, from 0
     * @return the request as it reads in the trace file, such as {@code r 17 640}
     */
    public String describe(int op) {
        return kinds[op] == FREE
                ? "f " + ids[op]
                : (char) kinds[op] + " " + ids[op] + " " + sizes[op];
    }

    @Override
    public String toString() {
        return set + "/" + name + " (" + opCount() + " ops, " + numIds + " ids)";
    }
}
