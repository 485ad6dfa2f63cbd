package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * A trace whose live blocks add up to more than the machine's memory is not replayed: the checked
 * pass would write every byte of them, and an allocator that grants such blocks would page until
 * the OOM killer came. The allocator is not even asked; the trace is reported with the reason.
 */
class TraceBeyondMemoryTest {
    /** One block of 100 GB. */
    private static final String HUGE = "20000\n1\n2\n1\na 0 100000000000\nf 0\n";

    @Test
    void aTraceLargerThanMemoryIsReportedAndNotReplayed() throws Exception {
        try (TestAllocator allocator = new TestAllocator(); FreshThreads threads = new FreshThreads()) {
            TraceReplayer replayer = new TraceReplayer(allocator, 1, true, threads, 24L << 30);

            for (TraceResult result : new TraceResult[] {replayer.replay(trace(HUGE)),
                    replayer.measureFootprint(trace(HUGE))}) {
                assertFalse(result.isOk());
                assertTrue(result.failure().contains("more than this machine's 24.0 GiB of memory"), result.failure());
                assertTrue(result.failure().contains("not a fault of the allocator"), result.failure());
            }
            assertEquals(0, allocator.calls, "the allocator was asked for blocks");
        }
    }

    @Test
    void aTraceThatFitsIsReplayed() throws Exception {
        try (TestAllocator allocator = new TestAllocator(); FreshThreads threads = new FreshThreads()) {
            TraceReplayer replayer = new TraceReplayer(allocator, 1, true, threads, 1L << 20);

            TraceResult result = replayer.replay(trace("20000\n1\n2\n1\na 0 1048576\nf 0\n"));

            assertTrue(result.isOk(), result.failure());
        }
    }

    @Test
    void theMachinesMemoryIsKnownHere() {
        assertTrue(PhysicalMemory.totalBytes() > 0);
    }

    private static Trace trace(String text) throws Exception {
        return TraceParser.parse(new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII)), "huge.rep",
                "huge", "test");
    }
}
