package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A trace whose live blocks add up to more than the machine's memory is not replayed: the checked
 * pass would write every byte of them, and an allocator that grants such blocks would page until
 * the OOM killer came. No allocator is asked for them, so none is FAILED: the trace is listed with
 * the traces not replayed, with the reason, and the others are replayed.
 */
class TraceBeyondMemoryTest {
    /** One block of 100 GB. */
    private static final String HUGE = "20000\n1\n2\n1\na 0 100000000000\nf 0\n";
    private static final String SMALL = "20000\n1\n2\n1\na 0 1048576\nf 0\n";

    @Test
    void aTraceLargerThanMemoryIsListedAsNotReplayedAndNoAllocatorFailsIt(@TempDir Path dir) throws Exception {
        Path huge = Files.writeString(dir.resolve("huge.rep"), HUGE);
        Files.writeString(dir.resolve("small.rep"), SMALL);

        MainTest.Run run = MainTest.run("replay", "--allocator", "arena", "--repeat", "1", dir.toString());

        assertEquals(1, run.exitCode(), run.out() + run.err());
        assertTrue(run.out().startsWith("malloc4j replay: 1 trace, 1 allocator"), run.out());
        assertTrue(run.out().contains("Traces not replayed:\n  " + huge + ": its live blocks add up to 93.1 GiB at "
                + "their peak, more than this machine's"), run.out());
        assertTrue(run.out().contains("not a fault of any allocator"), run.out());
        assertFalse(run.out().contains("FAILED replays"), run.out());
        assertFalse(run.out().contains("huge  "), "a row for the trace not replayed\n" + run.out());
    }

    @Test
    void theReasonNamesBothSizesAndATraceThatFitsHasNone() throws Exception {
        String reason = PhysicalMemory.beyondMemory(trace(HUGE), 24L << 30);
        assertTrue(reason.startsWith("its live blocks add up to 93.1 GiB at their peak, more than this machine's "
                + "24.0 GiB of memory"), reason);
        assertNull(PhysicalMemory.beyondMemory(trace(SMALL), 1L << 20));
        assertNull(PhysicalMemory.beyondMemory(trace(HUGE), 0), "the machine's memory is unknown");
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
