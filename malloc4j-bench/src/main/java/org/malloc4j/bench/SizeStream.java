package org.malloc4j.bench;

/**
 * A cyclic stream of precomputed request sizes ({@link Sizes#of}), read by one thread: the base of
 * each benchmark's {@code @State} that declares its own {@code size} parameter values.
 */
public abstract class SizeStream {
    private static final int MASK = Sizes.STREAM_LENGTH - 1;
    private long[] sizes;
    private int next;

    /** @param spec a byte count or {@value Sizes#MIXED} */
    protected final void init(String spec) {
        sizes = Sizes.of(spec, Sizes.STREAM_LENGTH);
        next = 0;
    }

    /** @return the next size */
    public final long next() {
        return sizes[next++ & MASK];
    }
}
