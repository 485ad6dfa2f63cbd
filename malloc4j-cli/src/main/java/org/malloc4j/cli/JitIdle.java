package org.malloc4j.cli;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * Waits until the JIT compiler has been idle for a moment. A compilation allocates native memory in
 * the compiler threads and gives it back when done, which moves the resident set size; the replay
 * waits for quiet before it samples the RSS.
 */
final class JitIdle {
    private static final CompilationMXBean COMPILER = ManagementFactory.getCompilationMXBean();
    private static final long QUIET_MILLIS = 40;
    private static final long MAX_WAIT_MILLIS = 2_000;

    private JitIdle() {
    }

    /**
     * Returns once the total compilation time has not changed for {@value #QUIET_MILLIS} ms, or after
     * {@value #MAX_WAIT_MILLIS} ms at most (or at once if the JVM does not report it).
     */
    static void await() {
        if (COMPILER == null || !COMPILER.isCompilationTimeMonitoringSupported()) {
            return;
        }
        long deadline = System.nanoTime() + MAX_WAIT_MILLIS * 1_000_000;
        long last = COMPILER.getTotalCompilationTime();
        while (System.nanoTime() < deadline) {
            sleep();
            long now = COMPILER.getTotalCompilationTime();
            if (now == last) {
                return;
            }
            last = now;
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(QUIET_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
