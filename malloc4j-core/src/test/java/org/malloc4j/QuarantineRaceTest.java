package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A checked free verifies the blocks its block pushes out of quarantine before it frees anything,
 * and a report of one written after its free leaves the caller's block live, to be freed again
 * ({@link Heap#free}). Other threads' frees fill the quarantine meanwhile: the room a free took
 * stays its own, so no report reaches the caller after its free is done. Here another thread writes
 * after every free it makes while this one frees and reallocs its own blocks correctly, retrying a
 * free that reported such a write, as the Javadoc says.
 */
class QuarantineRaceTest {
    private static final long RUN_NANOS = 2_000_000_000L;

    @Test
    void aFreeOrReallocThatReportsAWriteAfterFreeOfAnotherBlockLeftItsOwnBlockLive() throws Exception {
        Heap heap = Heap.builder().name("quarantine race").checkMode(CheckMode.FULL).quarantineBytes(16 * 1024)
                .leakReportAtClose(false).build();
        try {
            AtomicBoolean stop = new AtomicBoolean();
            Thread writer = Thread.ofPlatform().start(() -> writeAfterEveryFree(heap, stop));
            int reports = 0;
            int doubleFrees = 0;
            int lostContents = 0;
            MemorySegment mine = heap.malloc(100);
            mine.fill((byte) 7);
            for (long end = System.nanoTime() + RUN_NANOS; System.nanoTime() < end; ) {
                try {
                    MemorySegment moved = heap.realloc(mine, 100);
                    lostContents += moved.get(JAVA_BYTE, 99) == 7 ? 0 : 1;
                    mine = moved;
                } catch (MemoryMisuseException e) {
                    // The realloc changed nothing: mine is live as it was.
                    reports++;
                    doubleFrees += e.kind() == MemoryMisuseException.Kind.DOUBLE_FREE ? 1 : 0;
                }
                List<MemoryMisuseException.Kind> freeReports = freeAgainAfterReports(heap, heap.malloc(300));
                reports += freeReports.size();
                doubleFrees += freeReports.contains(MemoryMisuseException.Kind.DOUBLE_FREE) ? 1 : 0;
            }
            stop.set(true);
            writer.join();
            assertTrue(reports > 0, "no write after free was reported: the test exercised nothing");
            assertEquals(0, doubleFrees, "calls that reported another block's write after free had freed their own");
            assertEquals(0, lostContents);
            assertEquals(7, mine.get(JAVA_BYTE, 0));
            heap.free(mine);
            // A realloc that reported reached no block it made and did not return.
            assertEquals(0, heap.stats().liveBlocks());
        } finally {
            closeReportingTheWritersLastWrites(heap);
        }
    }

    /** Closes {@code heap}; the writer's last writes after free, still in quarantine, are reported then. */
    private static void closeReportingTheWritersLastWrites(Heap heap) {
        try {
            heap.close();
        } catch (MemoryMisuseException writesStillInQuarantine) {
            assertEquals(MemoryMisuseException.Kind.USE_AFTER_FREE, writesStillInQuarantine.kind());
        }
    }

    /**
     * Frees {@code block}, again after each report of another block's write after free (which leaves
     * it live), until the free is done or reports a double free.
     *
     * @return the kinds of the reports, in order
     */
    private static List<MemoryMisuseException.Kind> freeAgainAfterReports(Heap heap, MemorySegment block) {
        List<MemoryMisuseException.Kind> reports = new ArrayList<>();
        while (true) {
            try {
                heap.free(block);
                return reports;
            } catch (MemoryMisuseException e) {
                reports.add(e.kind());
                if (e.kind() == MemoryMisuseException.Kind.DOUBLE_FREE) {
                    return reports;
                }
            }
        }
    }

    /** Mallocs and frees blocks of 2,000 B, writing a byte into each after its free. */
    private static void writeAfterEveryFree(Heap heap, AtomicBoolean stop) {
        while (!stop.get()) {
            try {
                MemorySegment block = heap.malloc(2000);
                // Its own writes, found as its frees push them out.
                freeAgainAfterReports(heap, block);
                MemorySegment.ofAddress(block.address()).reinterpret(1).set(JAVA_BYTE, 0, (byte) 1);
            } catch (MemoryMisuseException reported) {
                // A report of its own writes, found by its malloc.
            }
        }
    }
}
