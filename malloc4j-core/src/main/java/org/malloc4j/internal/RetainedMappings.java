package org.malloc4j.internal;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * The mappings of freed huge blocks, kept mapped and committed for the purge delay: a program that
 * frees a huge block and soon allocates one of the same span (a buffer per request or per batch)
 * gets the mapping back with its memory already in, instead of paying an {@code munmap}, an
 * {@code mmap} and a page fault per OS page on every round. jemalloc's retained extents and decay
 * serve the same loop; glibc maps and unmaps every block past its mmap threshold (at most 32 MiB).
 * The block's arena was closed at its free, so no segment of the old block reaches the memory.
 * Guarded by the span lock, but for {@link #committed()}.
 */
final class RetainedMappings {
    /**
     * At most this many mappings are kept per core, the oldest given back first: a heap keeps four,
     * a sampled heap four more for its checked blocks.
     */
    static final int MAX_MAPPINGS = 4;

    /**
     * A freed huge block's mapping.
     *
     * @param base the mapping's start, aligned to its region size
     * @param span the mapping's size in bytes, a multiple of the region size
     * @param committed the bytes from {@code base} that are still committed
     * @param retainedAtNanos when the block was freed ({@link System#nanoTime})
     */
    record Mapping(long base, long span, long committed, long retainedAtNanos) {
    }

    private final ArrayDeque<Mapping> mappings = new ArrayDeque<>();
    /** The committed bytes of {@link #mappings}; read without the lock. */
    private volatile long committed;

    /**
     * Keeps {@code mapping}, newest last.
     *
     * @return the oldest mapping, which no longer fits and the caller must give back, or null
     */
    Mapping add(Mapping mapping) {
        mappings.addLast(mapping);
        committed += mapping.committed();
        return mappings.size() > MAX_MAPPINGS ? pollOldest() : null;
    }

    /**
     * Takes the newest mapping of exactly {@code span} bytes whose start is aligned to
     * {@code alignment}: a mapping of another span would hold address space, or need more, that
     * the block does not.
     *
     * @return the mapping, or null if none fits
     */
    Mapping take(long span, long alignment) {
        for (Iterator<Mapping> it = mappings.descendingIterator(); it.hasNext(); ) {
            Mapping mapping = it.next();
            if (mapping.span() == span && (mapping.base() & (alignment - 1)) == 0) {
                it.remove();
                committed -= mapping.committed();
                return mapping;
            }
        }
        return null;
    }

    /**
     * Keeps {@code mapping}, taken by {@link #take} and not used after all, where its age puts it:
     * after the mappings freed before it and before those freed after it, so it is evicted and
     * purged when it would have been had it never been taken. The mappings are in the order they
     * were freed, which is the order of their times.
     *
     * @return the oldest mapping, which no longer fits and the caller must give back, or null
     */
    Mapping putBack(Mapping mapping) {
        ArrayDeque<Mapping> younger = new ArrayDeque<>();
        while (!mappings.isEmpty() && mappings.peekLast().retainedAtNanos() - mapping.retainedAtNanos() > 0) {
            younger.addFirst(mappings.pollLast());
        }
        mappings.addLast(mapping);
        mappings.addAll(younger);
        committed += mapping.committed();
        return mappings.size() > MAX_MAPPINGS ? pollOldest() : null;
    }

    /** Keeps {@code mapping}, taken by {@link #pollOldest} and changed, as the oldest again. */
    void putBackOldest(Mapping mapping) {
        mappings.addFirst(mapping);
        committed += mapping.committed();
    }

    /** @return the mapping kept longest, or null if none */
    Mapping peekOldest() {
        return mappings.peekFirst();
    }

    /** @return the mapping kept longest, removed, or null if none */
    Mapping pollOldest() {
        Mapping mapping = mappings.pollFirst();
        if (mapping != null) {
            committed -= mapping.committed();
        }
        return mapping;
    }

    boolean isEmpty() {
        return mappings.isEmpty();
    }

    /** @return the committed bytes of the kept mappings (read without the lock) */
    long committed() {
        return committed;
    }
}
