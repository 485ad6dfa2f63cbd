package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A retired span parked while the Java heap is full keeps every other retired span reachable: the
 * pool of retired pages must not lose its pages when it cannot grow. The pool was an
 * {@link java.util.ArrayDeque}, whose {@code addLast} stores the element before it grows: a growth
 * that met a full Java heap left the deque reading as empty, and the free's fallback released only
 * the span being parked. Every other pooled span then stayed counted as committed, and its slices
 * taken, for good: no purge or {@code trim()} found it, and no malloc reused it.
 *
 * <p>The program runs in a JVM of its own with a 32 MiB Java heap, so the ballast that fills it
 * leaves no room for the pool's growth, and compares the heap with a control heap that did the
 * same with the Java heap free: their outcomes must not differ.
 */
class RetiredPagesUnderFullJavaHeapTest {
    @Test
    void spansRetiredUnderAFullJavaHeapAreAllPurgedAndReused() throws Exception {
        ChildJvm.Result result = ChildJvm.run(FullJavaHeap.JVM_OPTIONS, SpanPoolProgram.class);
        assertEquals(0, result.exitCode(), result.output());
        Map<String, String> lines = result.values();
        assertEquals("0", lines.get("frees that threw"), result.output());
        assertEquals(lines.get("control: committed after trim"), lines.get("heap: committed after trim"),
                "the retired spans were not all purged by trim():\n" + result.output());
        assertEquals(lines.get("control: reserved after reuse"), lines.get("heap: reserved after reuse"),
                "the retired spans were not all reused:\n" + result.output());
        assertEquals("passed", lines.get("heap: check()"), result.output());
    }

    /**
     * A trim that meets a full Java heap, tried again with a little more room each time, leaves
     * every retired span in the pool or gone, and trims once there is room. Its purge takes no span
     * out of the pool before it has the list it sorts them in (one that took them first lost those
     * it could not list, committed and counted for good). On the code before, no trim got that far:
     * its look at the pages their owners held off linked a lambda at its first call, which failed
     * ({@link BootstrapMethodError}) and left {@code trim()} failing so for the rest of the process.
     */
    @Test
    void aTrimThatMeetsAFullJavaHeapLosesNoRetiredSpanAndWorksOnceThereIsRoom() throws Exception {
        ChildJvm.Result result = ChildJvm.run(FullJavaHeap.JVM_OPTIONS, PurgeProgram.class);
        assertEquals(0, result.exitCode(), result.output());
        Map<String, String> lines = result.values();
        assertEquals("0", lines.get("committed after trim"), "retired spans lost to the pool:\n" + result.output());
        assertEquals("passed", lines.get("check()"), result.output());
    }

    /**
     * Retires {@link SpanPoolProgram#BLOCKS} large blocks' spans with the Java heap free, then
     * trims with the Java heap full, given room a spacer of 48 bytes at a time, again after each
     * {@link OutOfMemoryError}, until the trim gets through, so that some try fails inside the
     * purge; and trims again once the Java heap is free.
     */
    static final class PurgeProgram {
        /** The spacers' bytes in all, more than a trim takes. */
        static final int ROOM_BYTES = 64 << 10;
        static final int SPACER_BYTES = 48;

        public static void main(String[] args) {
            Heap heap = Heap.builder().name("purged").purgeDelay(Duration.ofHours(1)).build();
            long[] blocks = new long[SpanPoolProgram.BLOCKS];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = heap.mallocAddress(SpanPoolProgram.SIZE);
            }
            for (long block : blocks) {
                heap.freeAddress(block);
            }
            Object[] spacer = new Object[ROOM_BYTES / SPACER_BYTES];
            for (int i = 0; i < spacer.length; i++) {
                spacer[i] = new byte[SPACER_BYTES];
            }
            FullJavaHeap.fill();
            int dropped = 0;
            while (dropped < spacer.length) {
                try {
                    heap.trim();
                    break;
                } catch (OutOfMemoryError e) {
                    spacer[dropped++] = null;
                }
            }
            FullJavaHeap.empty();
            System.out.println("spacers dropped: " + dropped);
            heap.trim();
            System.out.println("committed after trim: " + heap.stats().committedBytes());
            String check = "passed";
            try {
                heap.check();
            } catch (RuntimeException e) {
                check = e.toString();
            }
            System.out.println("check(): " + check);
            heap.close();
        }
    }

    /**
     * Large blocks, each in a span of its own that retires to the pool when it is freed: a few are
     * freed with the Java heap free, so the pool's array has grown to hold them, and the rest with
     * the Java heap full, so that the pool must grow while nothing fits. The purge delay is an hour,
     * so only {@code trim()} purges the pool, and the purger cannot empty it first.
     */
    static final class SpanPoolProgram {
        /** Over the medium classes' 128 KiB, three 64 KiB slices: 170 spans to a 32 MiB region. */
        static final long SIZE = 192 << 10;
        static final int BLOCKS = 300;
        /**
         * Freed before the fill; the pool then grows under pressure (its ring past 108, 162 and 243
         * pages; the {@code ArrayDeque} it was, past 110 and 220).
         */
        static final int FREED_FIRST = 100;

        public static void main(String[] args) {
            long[] control = run("control", false);
            long[] heap = run("heap", true);
            System.out.println("frees that threw: " + heap[0]);
            System.out.println("control: committed after trim: " + control[1]);
            System.out.println("heap: committed after trim: " + heap[1]);
            System.out.println("control: reserved after reuse: " + control[2]);
            System.out.println("heap: reserved after reuse: " + heap[2]);
            System.out.println("heap: check(): " + (heap[3] == 0 ? "passed" : "failed"));
        }

        /**
         * @return the frees that threw, the committed bytes once every block was freed and the
         *     heap trimmed, the reserved bytes once the blocks were malloc'd again, and 1 if
         *     {@code check()} threw (else 0)
         */
        private static long[] run(String name, boolean pressure) {
            Heap heap = Heap.builder().name(name).purgeDelay(Duration.ofHours(1)).build();
            long[] blocks = new long[BLOCKS];
            for (int i = 0; i < BLOCKS; i++) {
                blocks[i] = heap.mallocAddress(SIZE);
            }
            for (int i = 0; i < FREED_FIRST; i++) {
                heap.freeAddress(blocks[i]);
            }
            if (pressure) {
                FullJavaHeap.fill();
            }
            long threw = 0;
            for (int i = FREED_FIRST; i < BLOCKS; i++) {
                try {
                    heap.freeAddress(blocks[i]);
                } catch (Throwable t) {
                    threw++;
                }
            }
            FullJavaHeap.empty();
            System.out.println(name + ": after the frees: " + heap.stats());
            heap.trim();
            long committed = heap.stats().committedBytes();
            System.out.println(name + ": after trim: " + heap.stats());
            long checkFailed = 0;
            try {
                heap.check();
            } catch (RuntimeException e) {
                System.out.println(name + ": check() threw " + e);
                checkFailed = 1;
            }
            for (int i = 0; i < BLOCKS; i++) {
                blocks[i] = heap.mallocAddress(SIZE);
            }
            long reserved = heap.stats().reservedBytes();
            System.out.println(name + ": after the blocks were malloc'd again: " + heap.stats());
            for (long block : blocks) {
                heap.freeAddress(block);
            }
            heap.close();
            return new long[] {threw, committed, reserved, checkFailed};
        }
    }
}
