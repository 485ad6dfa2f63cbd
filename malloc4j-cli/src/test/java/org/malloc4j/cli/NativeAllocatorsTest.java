package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The native allocators load where installed and replay a bundled trace correctly. */
class NativeAllocatorsTest {
    private static final Path LIBRARIES = Path.of("/usr/lib/x86_64-linux-gnu");

    @Test
    void glibcReplaysABundledTraceCorrectly() throws Exception {
        Trace trace = TraceFinder.bundled().stream()
                .filter(source -> source.name().equals("binary2-bal")).findFirst().orElseThrow().read();
        try (ReplayAllocator glibc = AllocatorCatalog.open("glibc"); FreshThreads threads = new FreshThreads()) {
            TraceResult result = new TraceReplayer(glibc, 2, true, threads).replay(trace);
            assertTrue(result.isOk(), result.failure());
            assertEquals(24_000, result.ops());
            assertTrue(result.opsPerSecond() > 0);
            assertNotNull(result.peakFootprintBytes());
            assertEquals(2, result.repeat());
        }
    }

    @ParameterizedTest
    @CsvSource({"jemalloc, libjemalloc.so.2", "mimalloc, libmimalloc.so.2", "tcmalloc, libtcmalloc_minimal.so.4"})
    void installedLibrariesLoad(String allocator, String library) throws Exception {
        assumeTrue(Files.exists(LIBRARIES.resolve(library)), library + " is not installed");
        try (ReplayAllocator opened = AllocatorCatalog.open(allocator)) {
            assertEquals(allocator, opened.name());
            opened.startTrace(1);
            long block = opened.malloc(0, 100);
            assertTrue(block != 0 && block % 16 == 0);
            opened.free(0, opened.realloc(0, block, 5000));
            assertTrue(opened.footprint() > 0);
            opened.endTrace();
        }
    }

    @Test
    void aMissingLibraryIsUnavailableWithDlopensReason() {
        AllocatorUnavailableException e = assertThrows(AllocatorUnavailableException.class,
                () -> Downcalls.library("libmalloc4j-no-such-allocator.so.1", "install it"));
        assertTrue(e.getMessage().contains("libmalloc4j-no-such-allocator.so.1"), e.getMessage());
        assertTrue(e.getMessage().endsWith("(install it)"), e.getMessage());
    }

    @Test
    void aLibraryWithoutOneOfTheFunctionsIsUnavailable() {
        NativeLibrary noFree = new NativeLibrary(null, null, "malloc", "realloc", "malloc4j_no_such_free", List.of());
        AllocatorUnavailableException e = assertThrows(AllocatorUnavailableException.class, noFree::load);
        assertEquals("the C library has no symbol malloc4j_no_such_free", e.getMessage());
        NativeLibrary noExtra = new NativeLibrary(null, null, "malloc", "realloc", "free", List.of("malloc4j_trim"));
        assertEquals("the C library has no symbol malloc4j_trim",
                assertThrows(AllocatorUnavailableException.class, noExtra::load).getMessage());
    }

    @Test
    void theMallocFamilyIsCalledThroughTheLinkedHandles() throws Exception {
        NativeLibrary libc = NativeLibrary.cLibrary();
        libc.load();
        MallocFamily family = libc.link();
        long block = family.malloc(100);
        assertTrue(block != 0 && block % 16 == 0);
        long moved = family.realloc(block, 100_000);
        assertTrue(moved != 0);
        family.free(moved);
    }

    @Test
    void unknownAllocatorNamesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> AllocatorCatalog.open("dlmalloc"));
    }
}
