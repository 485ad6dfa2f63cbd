package org.malloc4j.internal;

/** What a page knows about one of its blocks; int constants so the free path allocates nothing. */
final class BlockState {
    /** Handed out and not freed. */
    static final int LIVE = 0;
    /** Handed out once and freed since. */
    static final int FREED = 1;
    /** Never handed out by the page as it is laid out now. */
    static final int NOT_ALLOCATED = 2;

    private BlockState() {
    }
}
