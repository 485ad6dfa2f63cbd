package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A checked block's scope is made with its first segment, so a block of the raw API, which never
 * gets one, is freed without closing a shared arena; a segment made of it is still dead once it
 * is freed, however the two race.
 */
class BlockScopeTest {
    private static final long ADDRESS = 1L << 40;
    private static final long BYTES = 64;

    private static BlockRecord record() {
        return new BlockRecord(ADDRESS - 16, ADDRESS, BYTES, BYTES + 32, new StackTraceElement[0]);
    }

    @Test
    void aBlockFreedWithoutASegmentGetsNoneAfterwards() {
        BlockRecord block = record();
        assertTrue(block.closeScope(System.nanoTime()), "nothing to wait for");
        Arena scope = block.arena();
        assertFalse(scope.scope().isAlive(), "a freed block's scope is closed");
        assertSame(scope, block.arena(), "every late asker gets the same closed scope");
        assertThrows(IllegalStateException.class, () -> Os.segment(ADDRESS, BYTES, block.arena()));
        assertTrue(block.closeScope(System.nanoTime()), "closing again finds it closed");
    }

    @Test
    void aSegmentMadeBeforeTheFreeDiesWithIt() {
        BlockRecord block = record();
        Arena scope = block.arena();
        assertSame(scope, block.arena(), "one scope a block");
        MemorySegment segment = Os.segment(ADDRESS, BYTES, scope);
        assertTrue(segment.scope().isAlive());
        assertTrue(block.closeScope(System.nanoTime()));
        assertFalse(segment.scope().isAlive(), "the free closed the segment's scope");
        assertSame(scope, block.arena(), "the closed scope stays the block's");
    }

    @Test
    void noSegmentOutlivesAFreeThatRacesItsMaking() throws Exception {
        CyclicBarrier start = new CyclicBarrier(2);
        for (int round = 0; round < 2_000; round++) {
            BlockRecord block = record();
            AtomicReference<MemorySegment> made = new AtomicReference<>();
            AtomicReference<Throwable> failed = new AtomicReference<>();
            Thread maker = new Thread(() -> {
                try {
                    start.await();
                    made.set(Os.segment(ADDRESS, BYTES, block.arena()));
                } catch (IllegalStateException freedFirst) {
                    // The free came first: no segment, as a free block should give.
                } catch (Throwable e) {
                    failed.set(e);
                }
            });
            maker.start();
            start.await();
            assertTrue(block.closeScope(System.nanoTime()));
            maker.join();
            assertNull(failed.get(), "making a segment of a block freed meanwhile fails only as closed");
            MemorySegment segment = made.get();
            assertFalse(segment != null && segment.scope().isAlive(), "a segment outlived the free in round " + round);
            assertFalse(block.arena().scope().isAlive());
        }
    }
}
