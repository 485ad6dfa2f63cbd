package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * {@code r id 0}: C lets {@code realloc(p, 0)} free {@code p} and return NULL (glibc, jemalloc and
 * tcmalloc do) or return a block of 0 bytes (malloc4j, mimalloc, arena); every pass accepts both.
 */
class ReallocToZeroTest {
    /** Block 0 is reallocated to 0 bytes, then freed; block 1 too, but grown again in between. */
    private static final String TRACE = """
            0 2 7 1
            a 0 10
            r 0 0
            f 0
            a 1 24
            r 1 0
            r 1 40
            f 1
            """;

    static final List<String> ALLOCATORS = AllocatorCatalog.NAMES;

    private static Trace trace() throws Exception {
        return TraceParser.parse(new ByteArrayInputStream(TRACE.getBytes(StandardCharsets.US_ASCII)), "z.rep", "z",
                "test");
    }

    /** A correct allocator with glibc's realloc(p, 0), which records what it is asked to free. */
    private static final class FreeingAllocator extends TestAllocator {
        final List<Long> frees = new ArrayList<>();
        final List<String> reallocs = new ArrayList<>();

        @Override
        public long realloc(int id, long address, long size) {
            reallocs.add((address == 0 ? "NULL" : "block") + " to " + size);
            if (size == 0 && address != 0) {
                frees.add(address);
                return 0;
            }
            return super.realloc(id, address, size);
        }

        @Override
        public void free(int id, long address) {
            super.free(id, address);
            frees.add(address);
        }
    }

    @Test
    void aReallocToZeroThatReturnsNullFreedTheBlockAndALaterFreeFreesNull() throws Exception {
        try (FreeingAllocator allocator = new FreeingAllocator()) {
            allocator.startTrace(2);
            CheckedReplay.Outcome outcome = CheckedReplay.run(trace(), allocator, true);
            assertNull(outcome.failure(), () -> outcome.failure().getMessage());
            // r 1 40 after r 1 0 is realloc(NULL, 40): the id held no block
            assertEquals(List.of("block to 0", "block to 0", "NULL to 40"), allocator.reallocs);
            assertEquals(4, allocator.frees.size(), allocator.frees::toString);
            assertTrue(allocator.frees.get(0) != 0, "r 0 0 frees block 0");
            assertEquals(0L, allocator.frees.get(1), "f 0 frees NULL");
            assertTrue(allocator.frees.get(2) != 0, "r 1 0 frees block 1");
            assertTrue(allocator.frees.get(3) != 0, "f 1 frees the block of r 1 40");
        }
    }

    @Test
    void theTimedPassPassesNullOnToo() throws Exception {
        try (FreeingAllocator allocator = new FreeingAllocator()) {
            allocator.startTrace(2);
            TimedReplay.run(trace(), allocator);
            assertEquals(List.of("block to 0", "block to 0", "NULL to 40"), allocator.reallocs);
            assertEquals(0L, allocator.frees.get(1), "f 0 frees NULL");
        }
    }

    @ParameterizedTest
    @FieldSource("ALLOCATORS")
    void everyAllocatorReplaysReallocsToZeroCorrectly(String name) throws Exception {
        ReplayAllocator allocator;
        try {
            allocator = AllocatorCatalog.open(name);
        } catch (AllocatorUnavailableException e) {
            assumeTrue(false, name + " is not available here: " + e.getMessage());
            return;
        }
        try (allocator; FreshThreads threads = new FreshThreads()) {
            TraceResult result = new TraceReplayer(allocator, 2, true, threads).replay(trace());
            assertTrue(result.isOk(), result.failure());
            assertEquals(7, result.ops());
        }
    }
}
