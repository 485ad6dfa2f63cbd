package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertThrows;

/** Heaps under a {@link FaultInjection} for the tests of holders that ask with room first, and what they throw. */
final class FaultyHeaps {
    private FaultyHeaps() {
    }

    /** @return a heap named "faults" in {@code mode}, sampling every other block in SAMPLED mode */
    static Heap heap(CheckMode mode, FaultInjection faults) {
        return Heap.builder().name("faults").checkMode(mode).sampleInterval(2).faultInjection(faults).build();
    }

    /** @return the message the heap gives an injected failure of {@code byteSize} bytes at {@code byteAlignment} */
    static String injectedRefusalOf(long byteSize, long byteAlignment) {
        try (Heap reference = heap(CheckMode.FAST, FaultInjection.firstN(1))) {
            return assertThrows(HeapExhaustedError.class, () -> reference.mallocAligned(byteSize, byteAlignment))
                    .getMessage();
        }
    }
}
