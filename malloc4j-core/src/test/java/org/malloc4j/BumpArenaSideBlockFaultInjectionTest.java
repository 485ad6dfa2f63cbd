package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A slice too large for a chunk gets a side block of its own, which the arena asks the heap for with
 * room to grow, and again at the slice's size when the heap refuses that for want of memory. To a
 * {@link FaultInjection} the slice is one allocation: a failure it injects reaches the program,
 * named as the heap names a failed request of the slice's size, and is never absorbed by the retry.
 *
 * <p>Bug: the failure landed on the roomy request, the retry at the exact size succeeded, and the
 * program never saw it: {@code firstN(1)} did not fail the first large slice, {@code everyNth(2)}
 * failed none, and {@link FaultInjection#injectedFailures()} counted failures nobody saw.
 *
 * <p>Every slice here is larger than the default chunk (64 KiB) and is never rewound, so each one
 * takes a new side block: one request to the heap, none for a chunk.
 */
class BumpArenaSideBlockFaultInjectionTest {
    /** Past the 64 KiB chunk: a side block of 112 KiB, exactly 100,000 bytes in FULL mode. */
    private static final long LARGE = 100_000;

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void firstNFailsTheFirstLargeSliceAsTheHeapFailsARequestOfItsSize(CheckMode mode) {
        FaultInjection faults = FaultInjection.firstN(1);
        try (Heap heap = FaultyHeaps.heap(mode, faults); BumpArena arena = BumpArena.ofConfined(heap)) {
            HeapExhaustedError refused = assertThrows(HeapExhaustedError.class, () -> arena.allocate(LARGE, 16));
            assertTrue(refused.injected());
            assertEquals(LARGE, refused.requestedBytes());
            assertEquals(FaultyHeaps.injectedRefusalOf(LARGE, 16), refused.getMessage());
            assertEquals(1, faults.injectedFailures());
            assertEquals(0, arena.blockCount(), "nothing changes");
            assertEquals(0, arena.usedBytes());

            MemorySegment slice = arena.allocate(LARGE, 16);
            assertEquals(LARGE, slice.byteSize());
            assertEquals(1, faults.injectedFailures());
        }
    }

    /** The refusal names the alignment too, as the heap's own does. */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void anInjectedFailureOfAnAlignedSliceNamesItsSizeAndAlignment(CheckMode mode) {
        FaultInjection faults = FaultInjection.firstN(1);
        try (Heap heap = FaultyHeaps.heap(mode, faults); BumpArena arena = BumpArena.ofConfined(heap)) {
            HeapExhaustedError refused = assertThrows(HeapExhaustedError.class, () -> arena.allocate(LARGE, 4096));
            assertEquals(LARGE, refused.requestedBytes());
            assertEquals(FaultyHeaps.injectedRefusalOf(LARGE, 4096), refused.getMessage());
            assertTrue(refused.getMessage().contains("cannot allocate " + LARGE + " bytes aligned to 4096"),
                    refused.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void everyNthTwoFailsEverySecondLargeSlice(CheckMode mode) {
        FaultInjection faults = FaultInjection.everyNth(2);
        try (Heap heap = FaultyHeaps.heap(mode, faults); BumpArena arena = BumpArena.ofConfined(heap)) {
            List<Integer> failed = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                long size = LARGE + i * 4096L;
                try {
                    assertEquals(size, arena.allocate(size, 16).byteSize());
                } catch (HeapExhaustedError e) {
                    assertEquals(size, e.requestedBytes());
                    failed.add(i);
                }
            }
            assertEquals(List.of(1, 3, 5, 7), failed);
            assertEquals(4, faults.injectedFailures());
            assertEquals(4, arena.blockCount());
        }
    }

    /**
     * Each slice is one draw of the policy's generator, so the program sees exactly the failures the
     * generator's draws pick (with p = 0.5, not the p<sup>2</sup> = 0.25 of two draws a slice).
     */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void withProbabilityFailsEachLargeSliceOnItsOwnDraw(CheckMode mode) {
        double probability = 0.5;
        long seed = 20_261_203;
        FaultInjection faults = FaultInjection.withProbability(probability, seed);
        SplittableRandom draws = new SplittableRandom(seed);
        int failures = 0;
        try (Heap heap = FaultyHeaps.heap(mode, faults); BumpArena arena = BumpArena.ofConfined(heap)) {
            for (int i = 0; i < 64; i++) {
                boolean fails = draws.nextDouble() < probability;
                boolean failed;
                try {
                    arena.allocate(LARGE, 16);
                    failed = false;
                } catch (HeapExhaustedError e) {
                    assertEquals(LARGE, e.requestedBytes());
                    failed = true;
                    failures++;
                }
                assertEquals(fails, failed, "slice " + i);
            }
        }
        assertEquals(failures, faults.injectedFailures());
        assertTrue(failures > 16, "failures: " + failures);
    }

    /** The program's failure path at a line that takes a large slice is walked once, on its first run. */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void eachCallSiteOnceFailsALargeSlicesCallSiteOnce(CheckMode mode) {
        FaultInjection faults = FaultInjection.eachCallSiteOnce();
        try (Heap heap = FaultyHeaps.heap(mode, faults); BumpArena arena = BumpArena.ofConfined(heap)) {
            List<String> outcomes = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                try {
                    arena.allocate(LARGE, 16);
                    outcomes.add("allocated");
                } catch (HeapExhaustedError e) {
                    outcomes.add("failed");
                }
            }
            assertEquals(List.of("failed", "allocated", "allocated"), outcomes);
            assertEquals(1, faults.injectedFailures());
        }
    }

    /**
     * Near the heap's limit the roomy request is refused for want of memory, not by the policy, and
     * the slice is served at its own size all the same, though a {@link FaultInjection} is set (one
     * that fails nothing).
     */
    @Test
    void aRoomySideBlockRefusedForWantOfMemoryIsStillAskedAgainAtTheSlicesSize() {
        FaultInjection faults = FaultInjection.firstN(0);
        try (Heap limited = Heap.builder().name("limited").maxCommittedBytes(8L << 20).faultInjection(faults).build();
                BumpArena arena = BumpArena.ofConfined(limited)) {
            arena.allocate(100);
            long request = (7L << 20) + 1; // rounded to the spacing, 8 MiB: past the limit with the chunk
            MemorySegment slice = BumpArenaTest.allocateFitting(arena, request);
            assertEquals(request, slice.byteSize());
            assertEquals(BumpArena.DEFAULT_CHUNK_BYTE_SIZE + request, arena.heldBytes());
            assertEquals(0, faults.injectedFailures());
        }
    }

    /**
     * A budget of bytes judges a request by its size: one the side block with room would pass but
     * the slice itself fits is served at the slice's size, as near a heap's limit, and the failure
     * of the request with room, which the program never sees, is not counted.
     */
    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void aByteBudgetTheSideBlocksRoomWouldPassStillServesASliceThatFits(CheckMode mode) {
        FaultInjection faults = FaultInjection.afterBytes(LARGE + 5_000);
        try (Heap heap = FaultyHeaps.heap(mode, faults); BumpArena arena = BumpArena.ofConfined(heap)) {
            MemorySegment slice = BumpArenaTest.allocateFitting(arena, LARGE);
            assertEquals(LARGE, slice.byteSize());
            assertEquals(0, faults.injectedFailures());
            HeapExhaustedError refused = assertThrows(HeapExhaustedError.class, () -> arena.allocate(LARGE, 16));
            assertTrue(refused.injected());
            assertEquals(LARGE, refused.requestedBytes());
            assertEquals(1, faults.injectedFailures());
        }
    }
}
