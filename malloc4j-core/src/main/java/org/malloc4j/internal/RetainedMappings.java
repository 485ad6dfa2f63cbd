package org.malloc4j.internal;

/**
 * The mappings of freed huge blocks, kept mapped and committed for the purge delay: a program that
 * frees a huge block and soon allocates one of the same span (a buffer per request or per batch)
 * gets the mapping back with its memory already in, instead of paying an {@code munmap}, an
 * {@code mmap} and a page fault per OS page on every round. jemalloc's retained extents and decay
 * serve the same loop; glibc maps and unmaps every block past its mmap threshold (at most 32 MiB).
 * The block's arena was closed at its free, so no segment of the old block reaches the memory.
 * Guarded by the span lock, but for {@link #committed()}.
 *
 * <p>The kept mappings sit in slots made with the heap: keeping one, or putting one back, never
 * asks the Java heap for room, so a mapping is never lost for want of it (a full deque's growth
 * failing would lose every mapping it held, mapped and committed, for good).
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

    /** Oldest first, {@link #count} of them; one slot more than kept, for the one that evicts the oldest. */
    private final Mapping[] mappings = new Mapping[MAX_MAPPINGS + 1];
    private int count;
    /** The committed bytes of {@link #mappings}; read without the lock. */
    private volatile long committed;

    /**
     * Keeps {@code mapping}, newest last.
     *
     * @return the oldest mapping, which no longer fits and the caller must give back, or null
     */
    Mapping add(Mapping mapping) {
        return insert(count, mapping);
    }

    /**
     * Takes the newest mapping of exactly {@code span} bytes whose start is aligned to
     * {@code alignment}: a mapping of another span would hold address space, or need more, that
     * the block does not.
     *
     * @return the mapping, or null if none fits
     */
    Mapping take(long span, long alignment) {
        for (int i = count - 1; i >= 0; i--) {
            Mapping mapping = mappings[i];
            if (mapping.span() == span && (mapping.base() & (alignment - 1)) == 0) {
                return remove(i);
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
        int at = count;
        while (at > 0 && mappings[at - 1].retainedAtNanos() - mapping.retainedAtNanos() > 0) {
            at--;
        }
        return insert(at, mapping);
    }

    /**
     * Keeps {@code mapping}, taken by {@link #pollOldest} and changed, as the oldest again.
     *
     * @return the oldest mapping, which no longer fits and the caller must give back, or null
     */
    Mapping putBackOldest(Mapping mapping) {
        return insert(0, mapping);
    }

    /** @return the mapping kept longest, or null if none */
    Mapping peekOldest() {
        return count == 0 ? null : mappings[0];
    }

    /** @return the mapping kept longest, removed, or null if none */
    Mapping pollOldest() {
        return count == 0 ? null : remove(0);
    }

    boolean isEmpty() {
        return count == 0;
    }

    /**
     * Keeps {@code mapping} at {@code index}, the later ones moving down one place.
     *
     * @return the oldest mapping, which no longer fits and the caller must give back, or null
     */
    private Mapping insert(int index, Mapping mapping) {
        // At most MAX_MAPPINGS are kept between calls, so the slot past them is free.
        System.arraycopy(mappings, index, mappings, index + 1, count - index);
        mappings[index] = mapping;
        count++;
        committed += mapping.committed();
        return count > MAX_MAPPINGS ? pollOldest() : null;
    }

    private Mapping remove(int index) {
        Mapping mapping = mappings[index];
        System.arraycopy(mappings, index + 1, mappings, index, count - index - 1);
        mappings[--count] = null;
        committed -= mapping.committed();
        return mapping;
    }

    /** @return the committed bytes of the kept mappings (read without the lock) */
    long committed() {
        return committed;
    }
}
