package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A JVM that cannot run malloc4j gets the exception {@link Heap#global()} and
 * {@link Heap.Builder#build()} document, saying why, from every attempt to make a heap: not an
 * {@link ExceptionInInitializerError} once and {@link NoClassDefFoundError}s after it. Native
 * access denied to malloc4j ({@code --illegal-native-access=deny}, without
 * {@code --enable-native-access} naming it) is an {@link IllegalCallerException} that says how to
 * allow it; another platform than Linux on x86-64 or AArch64 an
 * {@link UnsupportedOperationException}.
 */
class HeapUnavailableTest {
    private static final String DENIED = "java.lang.IllegalCallerException: malloc4j needs native access, which this "
            + "JVM denies its module: run with --enable-native-access=ALL-UNNAMED";

    @Test
    void everyHeapMadeWhereNativeAccessIsDeniedSaysHowToAllowIt() throws Exception {
        ChildJvm.Result result = ChildJvm.run(List.of("--illegal-native-access=deny"), Program.class);
        assertEquals(0, result.exitCode(), result.output());
        List<String> lines = result.output().lines().toList();
        assertEquals(4, lines.size(), result.output());
        for (String line : lines) {
            assertEquals(DENIED, line.substring(line.indexOf(' ') + 1, Math.min(line.length(),
                    line.indexOf(' ') + 1 + DENIED.length())), result.output());
        }
        assertFalse(result.output().contains("Error"), result.output());
    }

    @Test
    void everyHeapMadeOnAnotherPlatformSaysSo() throws Exception {
        ChildJvm.Result result = ChildJvm.run(List.of("--enable-native-access=ALL-UNNAMED", "-Dos.arch=sparc"),
                Program.class);
        assertEquals(0, result.exitCode(), result.output());
        String refused = "java.lang.UnsupportedOperationException: malloc4j runs on Linux on x86-64 and AArch64; "
                + "this is Linux on sparc";
        assertEquals(List.of("global: " + refused, "builder: " + refused, "global: " + refused, "builder: " + refused),
                result.output().lines().toList());
    }

    @Test
    void allowedNativeAccessMakesHeaps() throws Exception {
        ChildJvm.Result result = ChildJvm.run(List.of("--illegal-native-access=deny",
                "--enable-native-access=ALL-UNNAMED"), Program.class);
        assertEquals(0, result.exitCode(), result.output());
        assertEquals(List.of("global: ok", "builder: ok", "global: ok", "builder: ok"), result.output().lines().toList());
    }

    /** Makes the global heap and a heap of its own twice, printing what each attempt gave. */
    static final class Program {
        public static void main(String[] args) {
            for (int i = 0; i < 2; i++) {
                try {
                    Heap.global().free(Heap.global().malloc(8));
                    System.out.println("global: ok");
                } catch (Throwable e) {
                    System.out.println("global: " + e);
                }
                try (Heap heap = Heap.builder().build()) {
                    heap.free(heap.malloc(8));
                    System.out.println("builder: ok");
                } catch (Throwable e) {
                    System.out.println("builder: " + e);
                }
            }
        }
    }
}
