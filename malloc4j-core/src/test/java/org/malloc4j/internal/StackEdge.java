package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Tries one operation at every depth near the end of a thread's stack: recurses until the stack
 * overflows, then runs the attempt once per frame on the way back up. The frames of the descent
 * lie one slot (8 bytes) further down the stack with each {@linkplain #StackEdge shift}, and
 * {@link #SHIFTS} of them span more than one frame of the descent: over every shift, in a JVM that
 * only interprets ({@link #assertPassesInterpreted}), some attempt overflows at each call the
 * operation makes, however few bytes that call's frame adds. Run {@link #descend} on a thread of
 * {@link #STACK_BYTES}, once per shift.
 *
 * <p>Compiled code overflows only where a compiled method is entered, and a method compiled with
 * its callees inlined has no step inside to overflow at.
 */
final class StackEdge {
    /** A small stack, so that the descent is short. */
    static final int STACK_BYTES = 256 << 10;
    /** Slots of shift: more than an interpreted frame of the descent holds. */
    static final int SHIFTS = 32;

    private final int shift;
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

    /**
     * @param shift slots, from 0 to {@link #SHIFTS} - 1, that the descent starts further down
     * @param attempt tries the operation once; returns false to stop the tries
     */
    StackEdge(int shift, BooleanSupplier attempt) {
        this.shift = shift;
        this.attempt = attempt;
    }

    /**
     * Runs {@link #descend} on a new thread of {@link #STACK_BYTES}, waits up to a minute for it to
     * end, and asserts that it ended without throwing.
     */
    void descendOnSmallStack(String threadName) throws InterruptedException {
        Throwable[] failure = new Throwable[1];
        Thread thread = new Thread(null, this::descend, threadName, STACK_BYTES);
        thread.setUncaughtExceptionHandler((ended, e) -> failure[0] = e);
        thread.start();
        thread.join(60_000);
        assertFalse(thread.isAlive(), threadName + " did not end");
        assertNull(failure[0], () -> threadName + " failed: " + failure[0]);
    }

    /** @return the attempts begun so far, read from any thread */
    int attempts() {
        return attempts;
    }

    /**
     * Starts the descent below {@link #SHIFTS} frames, {@code shift} of them one slot wider than
     * the rest, so that the stack's end falls {@code shift} slots further into a frame of it.
     */
    void descend() {
        wide(shift, SHIFTS - shift);
    }

    // wide and narrow differ in one local only: a frame of wide takes one slot more.
    private void wide(int count, int rest) {
        int more = count;
        if (more > 0) {
            wide(more - 1, rest);
        } else {
            narrow(rest, 0);
        }
    }

    private void narrow(int count, int rest) {
        if (count > 0) {
            narrow(count - 1, rest);
        } else {
            down();
        }
    }

    /**
     * Recurses to the stack's end, then tries at each depth on the way back up. An attempt's own
     * StackOverflowError, unless it catches it, ends its frame as the stack's end did.
     */
    private void down() {
        try {
            down();
        } catch (StackOverflowError bottom) {
            // The end of the stack: the attempts start here.
        }
        if (!stopped) {
            attempts++;
            stopped = !attempt.getAsBoolean();
        }
    }
}
