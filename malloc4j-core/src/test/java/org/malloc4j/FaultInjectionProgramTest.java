package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Fault injection used as it is meant to be: a small C-style program that checks every allocation
 * and cleans up when one fails is run again and again under {@link FaultInjection#eachCallSiteOnce()}
 * until a run succeeds. Each run fails at the next allocation site, so every out-of-memory path of
 * the program is walked once; after each, nothing may be left allocated.
 */
class FaultInjectionProgramTest {

    /**
     * The program: an inventory record (a header holding a name, a linked list of two nodes and a
     * tail block) built in five allocation sites, each with its failure path. The header's fields are
     * raw addresses, 0 while missing, and {@code free(0)} does nothing, so one {@link #destroy}
     * serves every failure path, as in C.
     */
    static final class Inventory {
        static final long HEADER_BYTES = 32;
        static final long NAME_FIELD = 0;
        static final long HEAD_FIELD = 8;
        static final long TAIL_FIELD = 16;
        static final long COUNT_FIELD = 24;
        static final long NAME_BYTES = 16;
        static final long GROWN_NAME_BYTES = 64;
        static final long NODE_BYTES = 16;
        static final long TAIL_BYTES = 256;
        static final int NODES = 2;
        static final int BLOCKS = 1 + 1 + NODES + 1;

        /** Where a run ran out of memory. */
        enum Step { HEADER, NAME, NODE, TAIL, GROW_NAME }

        private Inventory() {
        }

        static MemorySegment newHeader(Heap heap) {
            return heap.malloc(HEADER_BYTES); // throws HeapExhaustedError
        }

        static MemorySegment newName(Heap heap) {
            return heap.tryCalloc(1, NAME_BYTES); // NULL when out of memory
        }

        static MemorySegment newNode(Heap heap) {
            return heap.tryMalloc(NODE_BYTES);
        }

        static long newTail(Heap heap) {
            return heap.mallocAddress(TAIL_BYTES); // throws HeapExhaustedError
        }

        static MemorySegment growName(Heap heap, MemorySegment name) {
            return heap.tryRealloc(name, GROWN_NAME_BYTES); // NULL, and the old name still live, on failure
        }

        /**
         * @param failures where this run ran out of memory is added here
         * @param forgetNameOnNodeFailure a bug on purpose: the node failure path drops the name
         * @return the header, or {@link MemorySegment#NULL} if memory ran out (then everything this
         *     run allocated has been freed, unless the bug is on)
         */
        static MemorySegment build(Heap heap, List<Step> failures, boolean forgetNameOnNodeFailure) {
            MemorySegment header;
            try {
                header = newHeader(heap);
            } catch (HeapExhaustedError e) {
                failures.add(Step.HEADER);
                return MemorySegment.NULL;
            }
            header.fill((byte) 0);
            MemorySegment name = newName(heap);
            if (name.equals(MemorySegment.NULL)) {
                failures.add(Step.NAME);
                destroy(heap, header);
                return MemorySegment.NULL;
            }
            header.set(JAVA_LONG, NAME_FIELD, name.address());
            for (int i = 0; i < NODES; i++) {
                MemorySegment node = newNode(heap);
                if (node.equals(MemorySegment.NULL)) {
                    failures.add(Step.NODE);
                    if (forgetNameOnNodeFailure) {
                        header.set(JAVA_LONG, NAME_FIELD, 0);
                    }
                    destroy(heap, header);
                    return MemorySegment.NULL;
                }
                node.set(JAVA_LONG, 0, header.get(JAVA_LONG, HEAD_FIELD));
                node.set(JAVA_LONG, 8, i);
                header.set(JAVA_LONG, HEAD_FIELD, node.address());
            }
            try {
                header.set(JAVA_LONG, TAIL_FIELD, newTail(heap));
            } catch (HeapExhaustedError e) {
                failures.add(Step.TAIL);
                destroy(heap, header);
                return MemorySegment.NULL;
            }
            name.setString(0, "widgets");
            MemorySegment grown = growName(heap, name);
            if (grown.equals(MemorySegment.NULL)) {
                failures.add(Step.GROW_NAME);
                destroy(heap, header); // the old name is still live: destroy frees it
                return MemorySegment.NULL;
            }
            header.set(JAVA_LONG, NAME_FIELD, grown.address());
            header.set(JAVA_LONG, COUNT_FIELD, NODES);
            return header;
        }

        static MemorySegment at(long address, long byteSize) {
            return MemorySegment.ofAddress(address).reinterpret(byteSize);
        }

        static void verify(MemorySegment header) {
            assertEquals(NODES, header.get(JAVA_LONG, COUNT_FIELD));
            assertEquals("widgets", at(header.get(JAVA_LONG, NAME_FIELD), GROWN_NAME_BYTES).getString(0));
            long node = header.get(JAVA_LONG, HEAD_FIELD);
            for (int i = NODES - 1; i >= 0; i--) {
                assertEquals(i, at(node, NODE_BYTES).get(JAVA_LONG, 8));
                node = at(node, NODE_BYTES).get(JAVA_LONG, 0);
            }
            assertEquals(0, node);
            assertNotEquals(0, header.get(JAVA_LONG, TAIL_FIELD));
        }

        /** Frees whatever the header holds, then the header: every failure path's cleanup. */
        static void destroy(Heap heap, MemorySegment header) {
            long node = header.get(JAVA_LONG, HEAD_FIELD);
            while (node != 0) {
                long next = at(node, NODE_BYTES).get(JAVA_LONG, 0);
                heap.freeAddress(node);
                node = next;
            }
            heap.freeAddress(header.get(JAVA_LONG, NAME_FIELD));
            heap.freeAddress(header.get(JAVA_LONG, TAIL_FIELD));
            heap.free(header);
        }
    }

    static Heap heap(CheckMode mode, FaultInjection faults) {
        return Heap.builder().name("program").checkMode(mode).sampleInterval(2).purgeDelay(Duration.ofHours(1))
                .faultInjection(faults).build();
    }

    static void assertNothingLeft(Heap heap, String when) {
        LeakReport leaks = heap.leaks();
        assertTrue(leaks.isEmpty(), () -> when + ":\n" + leaks.text());
        assertEquals(0, heap.stats().liveBlocks(), when);
        heap.check();
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void eachCallSiteOnceWalksEveryFailurePathAndNoneLeaks(CheckMode mode) {
        FaultInjection faults = FaultInjection.eachCallSiteOnce();
        try (Heap heap = heap(mode, faults)) {
            List<Inventory.Step> failures = new ArrayList<>();
            MemorySegment inventory = MemorySegment.NULL;
            int runs = 0;
            while (inventory.equals(MemorySegment.NULL) && runs < 20) {
                runs++;
                long injectedBefore = faults.injectedFailures();
                inventory = Inventory.build(heap, failures, false);
                if (inventory.equals(MemorySegment.NULL)) {
                    assertEquals(injectedBefore + 1, faults.injectedFailures(), "one failure per failed run");
                    assertNothingLeft(heap, "run " + runs + ", out of memory at " + failures.getLast());
                } else {
                    assertEquals(injectedBefore, faults.injectedFailures());
                }
            }
            assertEquals(List.of(Inventory.Step.HEADER, Inventory.Step.NAME, Inventory.Step.NODE,
                    Inventory.Step.TAIL, Inventory.Step.GROW_NAME), failures, "every failure path, once, in order");
            assertEquals(6, runs);
            assertEquals(5, faults.injectedFailures());

            Inventory.verify(inventory);
            assertEquals(Inventory.BLOCKS, heap.stats().liveBlocks());
            if (mode == CheckMode.FULL) {
                assertEquals(Inventory.BLOCKS, heap.leaks().blocks());
            }
            Inventory.destroy(heap, inventory);
            assertNothingLeft(heap, "after destroying the inventory");
        }
    }

    @Test
    void aFailurePathThatForgetsABlockIsFoundWithItsAllocationSite() {
        FaultInjection faults = FaultInjection.eachCallSiteOnce();
        try (Heap heap = heap(CheckMode.FULL, faults)) {
            List<Inventory.Step> failures = new ArrayList<>();
            for (int run = 1; run <= 2; run++) {
                Inventory.build(heap, failures, true);
                assertNothingLeft(heap, "run " + run);
            }
            Inventory.build(heap, failures, true); // fails at the first node and forgets the name
            assertEquals(Inventory.Step.NODE, failures.getLast());

            LeakReport leaks = heap.leaks();
            assertEquals(1, leaks.blocks());
            assertEquals(Inventory.NAME_BYTES, leaks.bytes());
            StackTraceElement site = leaks.sites().get(0).stack().get(0);
            assertEquals(Inventory.class.getName(), site.getClassName());
            assertEquals("newName", site.getMethodName());
            assertEquals("build", leaks.sites().get(0).stack().get(1).getMethodName());
            assertTrue(leaks.text().contains("Direct leak of 16 byte(s) in 1 object(s) allocated from:\n    #0 "
                    + Inventory.class.getName() + ".newName("), leaks.text());

            assertEquals(1, heap.stats().liveBlocks()); // close() reports it on standard error
        }
    }

    @ParameterizedTest
    @EnumSource(CheckMode.class)
    void randomFailuresNeverLeak(CheckMode mode) {
        FaultInjection faults = FaultInjection.withProbability(0.08, 2024);
        try (Heap heap = heap(mode, faults)) {
            List<Inventory.Step> failures = new ArrayList<>();
            int built = 0;
            for (int run = 0; run < 150; run++) {
                MemorySegment inventory = Inventory.build(heap, failures, false);
                if (!inventory.equals(MemorySegment.NULL)) {
                    built++;
                    Inventory.verify(inventory);
                    Inventory.destroy(heap, inventory);
                }
                assertNothingLeft(heap, "run " + run);
            }
            assertEquals(failures.size(), faults.injectedFailures());
            assertTrue(built > 0 && !failures.isEmpty(), built + " built, " + failures.size() + " failed");
        }
    }
}
