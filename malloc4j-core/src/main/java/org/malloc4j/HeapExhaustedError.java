package org.malloc4j;

/**
 * Thrown by the throwing members of the malloc family ({@link Heap#malloc(long)} and its kin) when a
 * request cannot be served: the operating system refused more memory, the request (or its
 * alignment) is larger than {@link Heap#MAX_BLOCK_BYTE_SIZE}, serving it would take the heap's
 * committed bytes past its {@linkplain Heap.Builder#maxCommittedBytes(long) limit}, or the heap's
 * {@link FaultInjection} failed it. A heap's scopes, {@link BumpArena}s, {@link FixedSizePool}s and
 * {@link NativeArray}s throw it likewise when the block they ask the heap for is refused.
 *
 * <p>It is an {@link OutOfMemoryError}, as from {@link java.lang.foreign.Arena#allocate}, so code
 * written for FFM arenas handles it unchanged. The {@code try*} members ({@link Heap#tryMalloc},
 * {@link Heap#tryCalloc}, {@link Heap#tryRealloc}) report the same condition by returning
 * {@link java.lang.foreign.MemorySegment#NULL} instead.
 *
 * <p>Thread-safe as any {@link Throwable}: its message is fixed when it is made.
 */
public final class HeapExhaustedError extends OutOfMemoryError {
    private static final long serialVersionUID = 1L;

    /** The size of the request that failed, in bytes. */
    private final long requestedBytes;
    /** Whether the heap's {@link FaultInjection} failed the request, not a want of memory. */
    private final boolean injected;

    /**
     * An error for a request refused for want of memory or for its size, not an injected one.
     *
     * @param message what was asked and why it failed
     * @param requestedBytes the size of the request that failed, in bytes
     */
    public HeapExhaustedError(String message, long requestedBytes) {
        this(message, requestedBytes, false);
    }

    /**
     * @param message what was asked and why it failed
     * @param requestedBytes the size of the request that failed, in bytes
     * @param injected whether the heap's {@link FaultInjection} failed the request
     */
    public HeapExhaustedError(String message, long requestedBytes, boolean injected) {
        super(message);
        this.requestedBytes = requestedBytes;
        this.injected = injected;
    }

    /** @return the size of the request that failed, in bytes */
    public long requestedBytes() {
        return requestedBytes;
    }

    /**
     * @return whether the heap's {@link FaultInjection} failed the request: true for a failure the
     *     policy chose (the heap may well have had the memory), false for one the heap could not
     *     serve
     */
    public boolean injected() {
        return injected;
    }
}
