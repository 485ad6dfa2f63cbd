package org.malloc4j.internal;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Os#zero} fills exactly its segment with zeros, by {@code fill}, by copies from a page of zeros
 * (from 128 B on, one page at a time) or by {@code memset} (past 16 KiB, and without the critical
 * linkage past 256 KiB), and refuses a segment whose arena is
 * closed or confined to another thread, as the fill does, without writing anything.
 */
class OsZeroTest {
    private static final int GUARD = 64;

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(longs = {0, 1, 15, 127, 128, 129, 1023, 4095, 4096, 4097, 8193, 16_384, 16_385, 262_143, 262_144,
        262_145, 1 << 20})
    void zeroesTheSegmentAndNothingAroundIt(long byteSize) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment all = arena.allocate(byteSize + 2 * GUARD, 16);
            all.fill((byte) 0x5A);
            Os.zero(all.asSlice(GUARD, byteSize));
            for (long i = 0; i < all.byteSize(); i++) {
                byte expected = i < GUARD || i >= GUARD + byteSize ? (byte) 0x5A : 0;
                if (all.get(JAVA_BYTE, i) != expected) {
                    assertEquals(expected, all.get(JAVA_BYTE, i), "byte " + (i - GUARD) + " of " + byteSize);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(longs = {100, 4096, 100_000, 1 << 20})
    void aSegmentOfAClosedArenaIsRefused(long byteSize) {
        Arena arena = Arena.ofShared();
        MemorySegment block = arena.allocate(byteSize);
        arena.close();
        assertThrows(IllegalStateException.class, () -> Os.zero(block));
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(longs = {100, 4096, 100_000})
    void aSegmentConfinedToAnotherThreadIsRefusedAndKeepsItsBytes(long byteSize) throws InterruptedException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment block = arena.allocate(byteSize);
            block.fill((byte) 7);
            Throwable[] thrown = new Throwable[1];
            Thread other = new Thread(() -> {
                try {
                    Os.zero(block);
                } catch (Throwable t) {
                    thrown[0] = t;
                }
            });
            other.start();
            other.join();
            assertEquals(WrongThreadException.class, thrown[0] == null ? null : thrown[0].getClass());
            assertEquals(7, block.get(JAVA_BYTE, byteSize - 1));
        }
    }
}
