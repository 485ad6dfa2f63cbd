package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code -Dmalloc4j.leakReportAtExit=true} in a JVM of its own: the global heap's leaks are
 * printed as the JVM exits, and a global heap first used by a shutdown hook, when the JVM takes no
 * more hooks for its report, still serves.
 */
class GlobalLeakReportAtExitTest {
    @Test
    void aLeakOfTheGlobalHeapIsReportedAtExit() throws Exception {
        String output = run("main");
        assertTrue(output.contains("ERROR: malloc4j: detected memory leaks in heap 'global'"), output);
        assertTrue(output.contains("SUMMARY: malloc4j: 24 byte(s) leaked in 1 allocation(s)."), output);
        assertTrue(output.contains("#0 " + Program.class.getName() + ".main("), output);
    }

    @Test
    void aGlobalHeapFirstUsedByAShutdownHookServesWithoutAReport() throws Exception {
        String output = run("hook");
        assertTrue(output.contains("hook: served 24 bytes"), output);
        assertFalse(output.contains("Exception"), output);
        assertFalse(output.contains("detected memory leaks"), output);
    }

    private static String run(String where) throws Exception {
        ChildJvm.Result result = ChildJvm.run(List.of("--enable-native-access=ALL-UNNAMED",
                "-Dmalloc4j.leakReportAtExit=true", "-Dmalloc4j.check=full"), Program.class, where);
        assertEquals(0, result.exitCode(), result.output());
        return result.output();
    }

    /** Leaks 24 bytes of the global heap, from {@code main} or from a shutdown hook. */
    static final class Program {
        public static void main(String[] args) {
            if (args[0].equals("main")) {
                Heap.global().malloc(24);
                return;
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                long address = Heap.global().mallocAddress(24);
                System.out.println("hook: served " + Heap.global().usableSize(address) + " bytes");
            }));
        }
    }
}
