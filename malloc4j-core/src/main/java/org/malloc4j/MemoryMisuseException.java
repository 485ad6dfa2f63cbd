package org.malloc4j;

import java.util.Objects;

/**
 * A misuse of the heap that malloc4j caught: a block freed twice, an address that is not the start
 * of a live block, and (in checked modes) the other kinds of {@link Kind}. The heap is left exactly
 * as it was before the call that threw: nothing is freed or corrupted, and it stays usable. The
 * exceptions are in checked modes: a {@code close()} (of a scope, {@link BumpArena},
 * {@link FixedSizePool} or heap), or a pool's free that gives a page back, which finds a block
 * damaged: it lets go of every block all the same, then throws, as its documentation says; and a
 * call that takes freed blocks out of quarantine and finds one written after its free: they have
 * left the quarantine all the same (see {@link Heap}'s Misuse section). A call that finds several
 * damaged blocks (such a close, or a {@link Heap#trim()}) throws the first report with the others
 * {@linkplain Throwable#getSuppressed() suppressed} in it.
 *
 * <p>{@link #kind()} names the error as AddressSanitizer names it; {@link #address()} is where it
 * is; {@link #getMessage()} is the report text.
 *
 * <p>Thread-safe as any {@link Throwable}: its kind, address and report are fixed when it is made.
 */
public final class MemoryMisuseException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The kinds of misuse, named after AddressSanitizer's report titles. */
    public enum Kind {
        /** A block freed (or reallocated) after it was already freed: ASan's "attempting double-free". */
        DOUBLE_FREE("double-free"),
        /**
         * An address that no live block of this heap starts at: foreign memory, an interior pointer,
         * a block of another heap, or memory never handed out. ASan's "bad-free"; given to
         * {@code usableSize}, the report's SUMMARY calls it "bad-malloc_usable_size", as ASan does.
         */
        BAD_FREE("bad-free"),
        /** A block used after it was freed: ASan's "heap-use-after-free". */
        USE_AFTER_FREE("heap-use-after-free"),
        /** Bytes written outside a block's bounds: ASan's "heap-buffer-overflow". */
        HEAP_BUFFER_OVERFLOW("heap-buffer-overflow"),
        /** A block freed through a different API than the one that allocated it. */
        ALLOC_DEALLOC_MISMATCH("alloc-dealloc-mismatch"),
        /**
         * A block never freed: LeakSanitizer's "detected memory leaks". Leaks are not thrown: they
         * are reported by {@link Heap#leaks()} and when a checked heap closes.
         */
        LEAK("detected memory leaks");

        private final String asanName;

        Kind(String asanName) {
            this.asanName = asanName;
        }

        /** @return the name AddressSanitizer prints for this kind, e.g. {@code "double-free"} */
        public String asanName() {
            return asanName;
        }
    }

    /** What went wrong. */
    private final Kind kind;
    /** Where the misuse is, as {@link #address()} says. */
    private final long address;

    /**
     * @param kind what went wrong
     * @param address where the misuse is, as {@link #address()} says
     * @param report the report text, starting with the kind and the address
     * @throws NullPointerException if {@code kind} is null
     */
    public MemoryMisuseException(Kind kind, long address, String report) {
        super(report);
        this.kind = Objects.requireNonNull(kind, "kind");
        this.address = address;
    }

    /** @return what went wrong */
    public Kind kind() {
        return kind;
    }

    /**
     * @return for damage found in memory ({@link Kind#HEAP_BUFFER_OVERFLOW}, and
     *     {@link Kind#USE_AFTER_FREE} found in a freed block), the first damaged byte, which may be
     *     in another block than the one the call was given; otherwise the address the offending
     *     call was given (0 for a segment of the Java heap, which has none)
     */
    public long address() {
        return address;
    }
}
