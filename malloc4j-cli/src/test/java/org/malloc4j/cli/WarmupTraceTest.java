package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class WarmupTraceTest {
    private static final Trace TRACE = WarmupTrace.create(WorkerCommand.WARMUP_STEPS, 42);

    /** Every id is made once, used only while live, and freed once; the header's figures hold. */
    @Test
    void theTraceIsBalancedAndItsHeaderHolds() {
        long[] size = new long[TRACE.numIds()];
        boolean[] made = new boolean[TRACE.numIds()];
        boolean[] live = new boolean[TRACE.numIds()];
        long liveBytes = 0;
        long peak = 0;
        for (int op = 0; op < TRACE.opCount(); op++) {
            int id = TRACE.ids()[op];
            switch (TRACE.kinds()[op]) {
                case Trace.ALLOC -> {
                    assertTrue(!made[id], "id " + id + " made twice, op " + op);
                    made[id] = true;
                    live[id] = true;
                    size[id] = TRACE.sizes()[op];
                    liveBytes += size[id];
                }
                case Trace.REALLOC -> {
                    assertTrue(live[id], "realloc of a dead id " + id + ", op " + op);
                    liveBytes += TRACE.sizes()[op] - size[id];
                    size[id] = TRACE.sizes()[op];
                }
                default -> {
                    assertTrue(live[id], "free of a dead id " + id + ", op " + op);
                    live[id] = false;
                    liveBytes -= size[id];
                }
            }
            peak = Math.max(peak, liveBytes);
        }
        assertEquals(0, liveBytes);
        assertEquals(0, TRACE.liveAtEnd().length);
        assertEquals(peak, TRACE.peakLiveBytes());
        for (int id = 0; id < made.length; id++) {
            assertTrue(made[id], "id " + id + " never made");
        }
    }

    /**
     * A buffer grows step by step from under 64 bytes to 512 KiB, through the small, medium and large
     * sizes, as realloc-bal's does: the path a warm-up of random reallocs leaves cold.
     */
    @Test
    void aBufferGrowsInSmallStepsFromSmallTo512KiB() {
        long[] size = new long[TRACE.numIds()];
        int[] steps = new int[TRACE.numIds()];
        long[] first = new long[TRACE.numIds()];
        int grown = 0;
        for (int op = 0; op < TRACE.opCount(); op++) {
            int id = TRACE.ids()[op];
            long next = TRACE.sizes()[op];
            if (TRACE.kinds()[op] == Trace.ALLOC) {
                first[id] = next;
                size[id] = next;
            } else if (TRACE.kinds()[op] == Trace.REALLOC) {
                boolean step = next > size[id] && next - size[id] <= 320;
                steps[id] = step ? steps[id] + 1 : Integer.MIN_VALUE;
                size[id] = next;
                if (steps[id] > 0 && first[id] <= 64 && next >= 512 * 1024) {
                    grown++;
                }
            }
        }
        assertTrue(grown >= 1, "no buffer grew in steps from 64 B to 512 KiB");
    }
}
