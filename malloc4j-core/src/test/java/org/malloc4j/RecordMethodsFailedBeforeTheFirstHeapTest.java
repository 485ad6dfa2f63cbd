package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A record's {@code equals}, {@code hashCode} and {@code toString} link, at their first call,
 * through a class of the JDK's ({@code java.lang.runtime.ObjectMethods}); a process whose Java heap
 * was full when it first initialized can never use them again: every later call throws a
 * {@link NoClassDefFoundError}. A checked heap's frees must not need them. One did, through the
 * records of its freed blocks: under a full Java heap it left a huge block claimed freed and live,
 * 19.5 MB committed, and every later free of it a double free. Its leak report needed them too.
 *
 * <p>The program, run in a JVM of its own, fails that class before making the first heap, then
 * frees thousands of blocks on a {@link CheckMode#FULL} heap with a small quarantine, so that new
 * blocks take the addresses of freed ones and their records replace the old ones.
 */
class RecordMethodsFailedBeforeTheFirstHeapTest {
    @Test
    void aCheckedHeapFreesAndReportsWithoutTheRecordMethods() throws Exception {
        ChildJvm.Result result = ChildJvm.run(FullJavaHeap.JVM_OPTIONS, Program.class);
        assertEquals(0, result.exitCode(), result.output());
        List<String> lines = result.output().lines().toList();
        assumeTrue(lines.contains("record methods: failed for good"), "the program could not fail the class:\n"
                + result.output());
        assertEquals(List.of("record methods: failed for good", "frees: " + Program.ROUNDS, "double free: DOUBLE_FREE",
                "leak report: 1 block at Program.leak", "live blocks: 0", "check: passed"), lines, result.output());
    }

    static final class Program {
        static final int ROUNDS = 5_000;

        /** A record of the program's own, whose first equals initializes the JDK's class. */
        private record Probe(int value) {
        }

        public static void main(String[] args) throws Throwable {
            // The JDK's classes that string joining, lambdas and bound method handles need,
            // initialized while there is room: the record methods' is then the one class the full
            // Java heap fails.
            MethodHandle length = MethodHandles.lookup()
                    .findVirtual(String.class, "length", MethodType.methodType(int.class)).bindTo("" + args.length + '.');
            int warmed = (int) length.invokeExact();
            Runnable warm = () -> System.out.print(("" + warmed + args.length).substring(2 + args.length));
            warm.run();
            System.out.println("record methods: " + failRecordMethods());
            try (Heap heap = Heap.builder().name("program").checkMode(CheckMode.FULL).quarantineBytes(4096)
                    .leakReportAtClose(false).build()) {
                int frees = 0;
                for (int i = 0; i < ROUNDS; i++) {
                    heap.freeAddress(heap.mallocAddress(16 + i % 64));
                    frees++;
                }
                System.out.println("frees: " + frees);
                long freed = heap.mallocAddress(24);
                heap.freeAddress(freed);
                try {
                    heap.freeAddress(freed);
                    System.out.println("double free: not reported");
                } catch (MemoryMisuseException e) {
                    System.out.println("double free: " + e.kind());
                }
                long leaked = leak(heap);
                LeakReport leaks = heap.leaks();
                System.out.println("leak report: " + leaks.blocks() + " block at Program."
                        + leaks.sites().get(0).stack().get(0).getMethodName());
                heap.freeAddress(leaked);
                System.out.println("live blocks: " + heap.stats().liveBlocks());
                heap.check();
                System.out.println("check: passed");
            }
        }

        private static long leak(Heap heap) {
            return heap.mallocAddress(40);
        }

        /**
         * Fills the Java heap, then calls a record's equals, giving back a few bytes after each
         * failure: each call gets further into the linking, until the class's initialization is
         * the one that fails.
         *
         * @return "failed for good" if it did, "initialized" if a call found the room to link
         */
        private static String failRecordMethods() {
            Probe probe = new Probe(1);
            Probe other = new Probe(2);
            String outcome;
            FullJavaHeap.fill();
            while (true) {
                try {
                    outcome = probe.equals(other) ? "equal" : "initialized";
                    break;
                } catch (OutOfMemoryError e) {
                    FullJavaHeap.loosen(2);
                } catch (NoClassDefFoundError e) {
                    outcome = e.getMessage().contains("java.lang.runtime.ObjectMethods") ? "failed for good"
                            : "another class failed: " + e.getMessage();
                    break;
                }
            }
            FullJavaHeap.empty();
            return outcome;
        }
    }
}
