package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Tries one operation at every depth near the end of a thread's stack: recurses until the stack
 * overflows, then runs the attempt once per frame on the way back up, so that some attempt
 * overflows at each step of the operation. Run {@link #descend} on a thread of
 * {@link #STACK_BYTES}, once per padding: the attempt is called from a frame of one of
 * {@link #PADDINGS} sizes, which shifts where in the operation the stack runs out.
 *
 * <p>Compiled code overflows only where a compiled method is entered, and a method compiled with
 * its callees inlined has no step inside to overflow at: a test that must reach every step of the
 * operation runs in a JVM that only interprets ({@link #assertPassesInterpreted}).
 */
final class StackEdge {
    /** A small stack, so that the descent is short. */
    static final int STACK_BYTES = 256 << 10;
    static final int PADDINGS = 4;

    private final int padding;
    private final BooleanSupplier attempt;
    private boolean stopped;
    private volatile int attempts;

    /**
     * Runs {@code scenario}'s {@code main} in a JVM that only interprets ({@code -Xint}), with this
     * JVM's class path, and asserts that it ends normally within two minutes.
     */
    static void assertPassesInterpreted(Class<?> scenario) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path output = Files.createTempFile("stack-edge", ".txt");
        try {
            Process process = new ProcessBuilder(List.of(java, "-Xint", "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), scenario.getName()))
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile())
                    .start();
            boolean ended = process.waitFor(120, TimeUnit.SECONDS);
            if (!ended) {
                process.destroyForcibly().waitFor();
            }
            String printed = Files.readString(output);
            assertTrue(ended, "the scenario did not end:\n" + printed);
            assertEquals(0, process.exitValue(), printed);
        } finally {
            Files.delete(output);
        }
    }

    /** A scenario's {@code main}: runs it, and ends the JVM with 0 if it passed, 1 if it threw. */
    static void exitWith(ThrowingRunnable scenario) {
        try {
            scenario.run();
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** @param attempt tries the operation once; returns false to stop the tries */
    StackEdge(int padding, BooleanSupplier attempt) {
        this.padding = padding;
        this.attempt = attempt;
    }

    /** @return the attempts begun so far, read from any thread */
    int attempts() {
        return attempts;
    }

    /**
     * Recurses to the stack's end, then tries at each depth on the way back up. An attempt's own
     * StackOverflowError, unless it catches it, ends its frame as the stack's end did.
     */
    void descend() {
        try {
            descend();
        } catch (StackOverflowError bottom) {
            // The end of the stack: the attempts start here.
        }
        if (!stopped) {
            attempts++;
            stopped = !switch (padding) {
                case 0 -> attempt.getAsBoolean();
                case 1 -> tryPadded1();
                case 2 -> tryPadded2();
                default -> tryPadded3();
            };
        }
    }

    // Locals live across the call, so that each frame is larger than the last.
    private boolean tryPadded1() {
        long a = attempts;
        long b = a + 1;
        boolean goOn = attempt.getAsBoolean();
        return goOn && a + b > 0;
    }

    private boolean tryPadded2() {
        long a = attempts;
        long b = a + 1;
        long c = b + 1;
        long d = c + 1;
        boolean goOn = attempt.getAsBoolean();
        return goOn && a + b + c + d > 0;
    }

    private boolean tryPadded3() {
        long a = attempts;
        long b = a + 1;
        long c = b + 1;
        long d = c + 1;
        long e = d + 1;
        long f = e + 1;
        boolean goOn = attempt.getAsBoolean();
        return goOn && a + b + c + d + e + f > 0;
    }
}
