package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Checked blocks freed while the Java heap is full lose no other block: the quarantine keeps its
 * blocks when it cannot grow, and the blocks a free pushes out of it reach the core even when their
 * check finds no room on the Java heap. The quarantine was an
 * {@link java.util.ArrayDeque}, whose {@code addLast} stores the element before it grows: a growth
 * that met a full Java heap left the deque reading as empty, and the free, its block already
 * poisoned and no longer live, threw the {@link OutOfMemoryError}. Every block quarantined before
 * then stayed allocated in the heap for good, its memory committed: no push out of quarantine,
 * {@code trim()} or {@code check()} found it. The blocks a free pushed out were freed one by one
 * after their check of poison, which makes a segment: when that failed, the rest were in neither
 * the quarantine nor the core (8,192 bytes left committed after {@code trim()}).
 *
 * <p>The program runs in a JVM of its own with a 32 MiB Java heap and compares the heap with a
 * control heap that did the same with the Java heap free: their outcomes must not differ.
 */
class QuarantineUnderFullJavaHeapTest {
    @Test
    void blocksQuarantinedUnderAFullJavaHeapAllLeaveTheQuarantine() throws Exception {
        assertNothingLost(1L << 30, 2 << 10);
    }

    /** A quarantine of 4 MiB: each free pushes blocks out, with as little room as 48 bytes more each try. */
    @Test
    void blocksPushedOutOfQuarantineUnderAFullJavaHeapAllReachTheCore() throws Exception {
        assertNothingLost(4L << 20, 48);
    }

    private static void assertNothingLost(long quarantineBytes, int spacerBytes) throws Exception {
        ChildJvm.Result result = ChildJvm.run(FullJavaHeap.JVM_OPTIONS, Program.class, Long.toString(quarantineBytes),
                Integer.toString(spacerBytes));
        assertEquals(0, result.exitCode(), result.output());
        Map<String, String> lines = result.values();
        assertEquals(lines.get("control: committed after trim"), lines.get("heap: committed after trim"),
                "quarantined blocks were not all released by trim():\n" + result.output());
        assertEquals("0", lines.get("frees that threw with their block freed"),
                "a free threw, though it had freed its block:\n" + result.output());
    }

    /**
     * Fills the quarantine up to where its array must grow, with the Java heap free, then frees a
     * few more blocks with the Java heap full. A checked free needs some 20 to 40 KB of room before
     * its block reaches the quarantine (its stack walk, among others), so each free is given room a
     * spacer (its bytes the second argument) at a time, again after each {@link OutOfMemoryError}, until
     * it gets through: one that failed before changing anything is tried again with more room. What
     * the free allocated before is garbage by the time the quarantine grows, so the growth must
     * need more than that to fail: 57 KB did in every run tried, the 17 KB of a growth from 2,827
     * to 4,240 in none.
     */
    static final class Program {
        static final long SIZE = 1000;
        /**
         * Freed with the Java heap free; the frees under pressure then make the quarantine grow
         * past 9,324 blocks to 13,986 slots, 56 KB (the {@code ArrayDeque} it was: past 9,539 to
         * 14,310, 57 KB).
         */
        static final int QUARANTINED = 9300;
        static final int FREED_UNDER_PRESSURE = 300;
        /** The spacers' bytes in all: room enough for a free and the growth together. */
        static final int ROOM_BYTES = 128 << 10;

        /** @param args the quarantine's bytes; the bytes of each spacer */
        public static void main(String[] args) {
            long quarantineBytes = Long.parseLong(args[0]);
            int spacerBytes = Integer.parseInt(args[1]);
            long[] control = run("control", false, quarantineBytes, spacerBytes);
            long[] heap = run("heap", true, quarantineBytes, spacerBytes);
            System.out.println("frees that threw and left their block live: " + heap[0]);
            System.out.println("frees that threw with their block freed: " + heap[1]);
            System.out.println("control: committed after trim: " + control[2]);
            System.out.println("heap: committed after trim: " + heap[2]);
        }

        /**
         * @return the frees under pressure that threw and left their block live (freed again once
         *     the Java heap is free), those that threw having freed it, and the committed bytes once
         *     every block was freed and the heap trimmed
         */
        private static long[] run(String name, boolean pressure, long quarantineBytes, int spacerBytes) {
            Heap heap = Heap.builder().name(name).checkMode(CheckMode.FULL).quarantineBytes(quarantineBytes)
                    .purgeDelay(Duration.ofHours(1)).leakReportAtClose(false).build();
            long[] blocks = new long[QUARANTINED + FREED_UNDER_PRESSURE];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = heap.mallocAddress(SIZE);
            }
            for (int i = 0; i < QUARANTINED; i++) {
                heap.freeAddress(blocks[i]);
            }
            boolean[] threw = new boolean[FREED_UNDER_PRESSURE];
            Object[] spacer = new Object[ROOM_BYTES / spacerBytes];
            if (pressure) {
                for (int i = 0; i < spacer.length; i++) {
                    spacer[i] = new byte[spacerBytes];
                }
                FullJavaHeap.fill();
            }
            int dropped = 0;
            for (int i = 0; i < FREED_UNDER_PRESSURE; i++) {
                while (true) {
                    try {
                        heap.freeAddress(blocks[QUARANTINED + i]);
                        threw[i] = false;
                        break;
                    } catch (OutOfMemoryError e) {
                        threw[i] = true;
                        if (dropped == spacer.length) {
                            break;
                        }
                        spacer[dropped++] = null;
                    } catch (RuntimeException e) {
                        // A free tried again after one that threw having freed the block: a double free.
                        break;
                    }
                }
            }
            FullJavaHeap.empty();
            long leftLive = 0;
            long freedYetThrew = 0;
            for (int i = 0; i < FREED_UNDER_PRESSURE; i++) {
                if (threw[i]) {
                    long block = blocks[QUARANTINED + i];
                    if (isLive(heap, block)) {
                        leftLive++;
                        heap.freeAddress(block);
                    } else {
                        freedYetThrew++;
                    }
                }
            }
            System.out.println(name + ": spacers dropped: " + dropped);
            heap.trim();
            long committed = heap.stats().committedBytes();
            System.out.println(name + ": after trim: " + heap.stats());
            heap.close();
            return new long[] {leftLive, freedYetThrew, committed};
        }

        private static boolean isLive(Heap heap, long block) {
            try {
                heap.usableSize(block);
                return true;
            } catch (MemoryMisuseException e) {
                return false;
            }
        }
    }
}
