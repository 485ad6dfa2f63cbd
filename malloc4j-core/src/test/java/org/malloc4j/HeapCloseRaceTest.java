package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Closing a heap while other threads still allocate, write and free (a misuse): each of their calls
 * either works or throws {@link IllegalStateException}, never a misuse report about their own
 * blocks, and a segment handed out as the heap closes throws on access instead of reaching
 * unmapped memory (which would crash the JVM).
 */
class HeapCloseRaceTest {
    private static final int ROUNDS = 100;
    private static final int THREADS = 16;

    @ParameterizedTest
    @CsvSource({"FAST, 1", "SAMPLED, 2", "FULL, 1"})
    void callsRacingCloseWorkOrSayTheHeapIsClosed(CheckMode mode, int interval) throws InterruptedException {
        ConcurrentLinkedQueue<Throwable> wrong = new ConcurrentLinkedQueue<>();
        // A checked heap reports the blocks live at close as leaks, on standard error: hundreds
        // of reports here, all expected, kept out of the build's log.
        PrintStream err = System.err;
        System.setErr(new PrintStream(OutputStream.nullOutputStream()));
        try {
            race(mode, interval, wrong);
        } finally {
            System.setErr(err);
        }
        assertEquals(List.of(), List.copyOf(wrong));
    }

    private static void race(CheckMode mode, int interval, ConcurrentLinkedQueue<Throwable> wrong)
            throws InterruptedException {
        for (int round = 0; round < ROUNDS && wrong.isEmpty(); round++) {
            Heap.Builder builder = Heap.builder().name("closing").checkMode(mode);
            if (mode == CheckMode.SAMPLED) {
                builder.sampleInterval(interval);
            }
            Heap heap = builder.build();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                threads.add(Thread.ofVirtual().start(() -> churn(heap, wrong)));
            }
            Thread.sleep(1);
            try {
                heap.close();
            } catch (IllegalStateException downcallOrLeak) {
                // Nothing here holds memory in a downcall; a close that throws is a failure too.
                wrong.add(downcallOrLeak);
            }
            for (Thread thread : threads) {
                assertTrue(thread.join(Duration.ofSeconds(30)), "a thread did not stop after close");
            }
        }
    }

    private static void churn(Heap heap, ConcurrentLinkedQueue<Throwable> wrong) {
        ArrayDeque<MemorySegment> mine = new ArrayDeque<>();
        try {
            while (true) {
                MemorySegment block = heap.malloc(16 + mine.size() * 8);
                block.set(JAVA_BYTE, 0, (byte) 1);
                mine.add(block);
                if (mine.size() > 8) {
                    heap.free(mine.poll());
                }
            }
        } catch (IllegalStateException closed) {
            // The heap closed, or a segment's scope did with it: both say so.
        } catch (Throwable t) {
            wrong.add(t);
        }
    }
}
