package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.function.LongUnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The verifier: correct allocators pass; each kind of wrong block is FAILED at its op. */
class CheckedReplayTest {
    /** Ops 1-4 allocate, 5 and 6 grow blocks 0 and 2, 7 frees block 1, 8-10 free the rest. */
    private static final String TRACE = """
            0 4 10 1
            a 0 40
            a 1 64
            a 2 24
            a 3 100
            r 0 200
            r 2 4000
            f 1
            f 0
            f 2
            f 3
            """;

    /** A byte that block 2's pattern does not have at offset 17. */
    private static final byte WRONG_17 = (byte) ~BlockPattern.expected(2, 17);

    private ReplayAllocator allocator;

    @AfterEach
    void closeAllocator() throws Exception {
        if (allocator != null) {
            allocator.close();
        }
    }

    private static Trace trace() throws Exception {
        return TraceParser.parse(new ByteArrayInputStream(TRACE.getBytes(StandardCharsets.US_ASCII)), "t.rep", "t", "test");
    }

    private CheckedReplay.Outcome replay(ReplayAllocator broken) throws Exception {
        allocator = broken;
        allocator.startTrace(4);
        return CheckedReplay.run(trace(), allocator, true);
    }

    private ReplayFailure failure(ReplayAllocator broken) throws Exception {
        CheckedReplay.Outcome outcome = replay(broken);
        assertNotNull(outcome.failure(), "the broken allocator passed");
        assertEquals(-1, outcome.peakFootprintBytes());
        return outcome.failure();
    }

    @Test
    void aCorrectAllocatorPassesAndItsFootprintIsSampled() throws Exception {
        CheckedReplay.Outcome outcome = replay(new TestAllocator());
        assertNull(outcome.failure());
        // 48 + 64 + 32 + 112 bytes, then block 0 moves (208) and block 2 moves (4000)
        assertEquals(48 + 64 + 32 + 112 + 208 + 4000, outcome.peakFootprintBytes());
    }

    @Test
    void glibcPasses() throws Exception {
        CheckedReplay.Outcome outcome = replay(new GlibcAllocator());
        assertNull(outcome.failure());
        assertTrue(outcome.peakFootprintBytes() >= 0);
    }

    /** @return a correct allocator, but its {@code call}th request, a malloc, returns {@code wrong(block)} */
    private static TestAllocator wrongMalloc(int call, LongUnaryOperator wrong) {
        return new TestAllocator() {
            @Override
            public long malloc(int id, long size) {
                long address = super.malloc(id, size);
                return calls == call ? wrong.applyAsLong(address) : address;
            }
        };
    }

    /** Ops 1-4 are mallocs, so the nth request is op n. */
    static Stream<Arguments> wrongMallocs() {
        return Stream.of(
                // block 2 starts inside block 1
                Arguments.of("overlap", 3, (LongUnaryOperator) address -> address - 32, "a 2 24",
                        "overlaps live block 1"),
                Arguments.of("misaligned", 4, (LongUnaryOperator) address -> address + 8, "a 3 100",
                        "not aligned to 16 bytes"),
                Arguments.of("NULL", 2, (LongUnaryOperator) address -> 0, "a 1 64", "malloc returned NULL"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("wrongMallocs")
    void aWrongBlockFromMallocFailsAtItsOp(String what, int op, LongUnaryOperator wrong, String request,
            String problem) throws Exception {
        ReplayFailure failure = failure(wrongMalloc(op, wrong));
        assertEquals(op, failure.opNumber());
        assertEquals(request, failure.request());
        assertTrue(failure.problem().contains(problem), failure.problem());
    }

    @Test
    void reallocThatLosesContentsFailsAtTheRealloc() throws Exception {
        ReplayFailure failure = failure(new TestAllocator() {
            @Override
            public long realloc(int id, long address, long size) {
                long moved = super.realloc(id, address, size);
                if (id == 2) {
                    memory().set(ValueLayout.JAVA_BYTE, moved - memory().address() + 17, WRONG_17);
                }
                return moved;
            }
        });
        assertEquals(6, failure.opNumber());
        assertEquals("r 2 4000", failure.request());
        assertTrue(failure.problem().contains(String.format("did not keep its contents: byte 17 of 24 is 0x%02x,",
                WRONG_17 & 0xFF)), failure.problem());
    }

    @Test
    void reallocThatForgetsToCopyFailsAtTheRealloc() throws Exception {
        ReplayFailure failure = failure(new TestAllocator() {
            @Override
            public long realloc(int id, long address, long size) {
                return malloc(id, size);
            }
        });
        assertEquals(5, failure.opNumber());
        assertTrue(failure.problem().contains("realloc from 40 to 200 bytes (moved from 0x"), failure.problem());
    }

    @Test
    void blockChangedWhileLiveFailsAtItsFree() throws Exception {
        ReplayFailure failure = failure(new TestAllocator() {
            private long block1;

            @Override
            public long malloc(int id, long size) {
                long address = super.malloc(id, size);
                if (id == 1) {
                    block1 = address;
                }
                if (id == 3) { // scribbles on live block 1 while serving block 3
                    MemorySegment.ofAddress(block1).reinterpret(64).set(ValueLayout.JAVA_BYTE, 63,
                            (byte) ~BlockPattern.expected(1, 63));
                }
                return address;
            }
        });
        assertEquals(7, failure.opNumber());
        assertEquals("f 1", failure.request());
        assertTrue(failure.problem().contains("block 1: the block's contents changed while it was live: byte 63"),
                failure.problem());
    }

    @Test
    void anAllocatorThatThrowsFailsAtTheOp() throws Exception {
        ReplayFailure failure = failure(new TestAllocator() {
            @Override
            public void free(int id, long address) {
                if (id == 2) {
                    throw new IllegalStateException("boom");
                }
            }
        });
        assertEquals(9, failure.opNumber());
        assertTrue(failure.problem().contains("boom"), failure.problem());
    }

    @ParameterizedTest
    @CsvSource({"0, 1", "1, 1", "3, 2", "7, 4", "8, 8", "15, 8", "16, 16", "100000, 16"})
    void smallBlocksNeedOnlyTheAlignmentOfWhatFitsInThem(long size, long alignment) {
        assertEquals(alignment, CheckedReplay.requiredAlignment(size));
    }
}
