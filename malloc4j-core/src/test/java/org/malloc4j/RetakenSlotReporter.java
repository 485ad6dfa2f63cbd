package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * What throws the report of damage a {@link FixedSizePool} found when it took a freed slot again
 * (an allocation does not throw it): the pool's next free, the heap's check, or the pool's close.
 */
enum RetakenSlotReporter {
    FREE, CHECK, CLOSE;

    /**
     * @param kept a live block of {@code pool} other than the one taken again, for the free
     * @return the report this one threw
     */
    MemoryMisuseException report(Heap heap, FixedSizePool pool, long kept) {
        return assertThrows(MemoryMisuseException.class, switch (this) {
            case FREE -> () -> pool.freeAddress(kept);
            case CHECK -> heap::check;
            case CLOSE -> pool::close;
        });
    }

    /** Frees what is still live after {@link #report}, {@code again} and {@code kept}, and closes the pool. */
    void finish(FixedSizePool pool, long again, long kept) {
        if (this == CLOSE) {
            return;
        }
        pool.freeAddress(again);
        if (this == CHECK) {
            pool.freeAddress(kept);
        }
        pool.close();
    }
}
