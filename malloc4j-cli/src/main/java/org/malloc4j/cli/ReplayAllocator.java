package org.malloc4j.cli;

/**
 * An allocator as the replay drives it: the malloc family over raw addresses, plus the footprint
 * figure the replay samples. Every request carries the trace's block id, so an adapter that needs
 * per-block state (an {@code Arena} per block) can keep it in an array indexed by id, as a program
 * keeps it next to its pointer.
 *
 * <p>The replay calls {@link #startTrace}, then the requests of one or more passes over a trace (each
 * pass frees what it allocated), then {@link #endTrace}, all on one thread; the next such session
 * may run on another thread.
 */
public interface ReplayAllocator extends AutoCloseable {
    /** @return the allocator's name on the command line, such as {@code glibc} */
    String name();

    /** @return what {@link #footprint()} measures, for the report */
    String footprintSource();

    /**
     * Prepares for a trace: makes a fresh heap, or gives memory kept from earlier traces back to the
     * operating system, so that footprint growth belongs to this trace.
     *
     * @param numIds the trace's number of block ids
     */
    void startTrace(int numIds);

    /**
     * @param id the block id, within {@code 0..numIds-1}
     * @param size the requested size in bytes
     * @return the block's address (0 if the allocator failed)
     */
    long malloc(int id, long size);

    /**
     * As C's {@code realloc}: with {@code size} 0 the adapter may free the block and return 0, or
     * return a block of 0 bytes; with {@code address} 0 it allocates.
     *
     * @param id the block id
     * @param address the live block's address, or 0 if a realloc to 0 bytes freed the id's block
     * @param size the new size in bytes
     * @return the resized block's address; 0 if the allocator failed (the old block is then intact),
     *     or if {@code size} is 0 and the block was freed
     */
    long realloc(int id, long address, long size);

    /**
     * @param id the block id
     * @param address the live block's address, or 0, which frees nothing (C's {@code free(NULL)}):
     *     the id's block was freed by a realloc to 0 bytes
     */
    void free(int id, long address);

    /** @return the allocator's footprint now, in bytes, as {@link #footprintSource()} says; -1 if unknown */
    long footprint();

    /**
     * Whether the footprint must be measured in a process of its own per trace: true for an
     * allocator that keeps free memory in caches it cannot be made to empty (tcmalloc's central and
     * transfer caches), from which a trace would otherwise be served without its footprint growing.
     *
     * @return the default, false: the footprint is measured in the process that replays every trace
     */
    default boolean footprintNeedsOwnProcess() {
        return false;
    }

    /**
     * Ends a trace: every block has been freed. An adapter with a heap per trace closes it; the
     * others give free memory back to the operating system, as at the start.
     */
    void endTrace();

    /** Releases what the adapter holds; the default holds nothing. */
    @Override
    default void close() {
    }
}
