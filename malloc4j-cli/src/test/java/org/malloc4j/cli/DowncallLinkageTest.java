package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class DowncallLinkageTest {
    @Test
    void theOptionNamesEitherLinkageInAnyCaseAndNothingElse() {
        assertEquals(DowncallLinkage.CRITICAL, DowncallLinkage.of("Critical"));
        assertEquals(DowncallLinkage.STANDARD, DowncallLinkage.of("standard"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DowncallLinkage.of("fast"));
        assertEquals("--downcalls must be critical or standard, got 'fast'", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DowncallLinkage.of(""));
    }

    @Test
    void criticalLinksWithTheCriticalOptionAndStandardWithNone() {
        assertArrayEquals(new Linker.Option[] {Linker.Option.critical(false)}, DowncallLinkage.CRITICAL.options());
        assertEquals(0, DowncallLinkage.STANDARD.options().length);
    }

    @ParameterizedTest
    @EnumSource(DowncallLinkage.class)
    void theCLibrarysMallocFamilyWorksInEitherLinkage(DowncallLinkage linkage) {
        NativeLibrary c = NativeLibrary.cLibrary();
        MallocFamily family = new MallocFamily(
                Downcalls.mallocFamily(c.symbols(), c.malloc(), Downcalls.MALLOC, linkage),
                Downcalls.mallocFamily(c.symbols(), c.realloc(), Downcalls.REALLOC, linkage),
                Downcalls.mallocFamily(c.symbols(), c.free(), Downcalls.FREE, linkage));
        long block = family.malloc(64);
        assertNotEquals(0, block);
        MemorySegment memory = Downcalls.everything();
        for (int i = 0; i < 64; i++) {
            memory.set(ValueLayout.JAVA_BYTE, block + i, (byte) (i + 1));
        }
        long grown = family.realloc(block, 100_000);
        assertNotEquals(0, grown);
        for (int i = 0; i < 64; i++) {
            assertEquals((byte) (i + 1), memory.get(ValueLayout.JAVA_BYTE, grown + i), "byte " + i);
        }
        memory.asSlice(grown, 100_000).fill((byte) 7);
        family.free(grown);
    }
}
