package org.malloc4j.internal;

import java.time.Duration;
import java.util.Locale;
import org.malloc4j.CheckMode;

/**
 * A heap's settings, fixed at construction.
 *
 * @param name the heap's name, for reports
 * @param maxCommittedBytes the most bytes the heap may commit ({@code Long.MAX_VALUE}: no limit)
 * @param purgeDelay how long empty pages stay committed before they are returned to the OS
 * @param mode how much the heap checks
 * @param sampleInterval in {@link CheckMode#SAMPLED} mode, one allocation in this many is checked
 * @param quarantineBytes the most bytes of freed blocks held back from reuse in checked modes
 * @param faults the fault-injection policy, or null
 * @param leakReportAtClose whether a checked heap prints its leak report to standard error when it
 *     closes with blocks live
 */
public record HeapConfig(String name, long maxCommittedBytes, Duration purgeDelay, CheckMode mode,
                         int sampleInterval, long quarantineBytes, FaultPolicy faults, boolean leakReportAtClose) {
    /** The purge delay when none is given: 250 ms, within mimalloc's 10 ms to 1 s. */
    public static final Duration DEFAULT_PURGE_DELAY = Duration.ofMillis(250);
    /** One allocation in this many is checked in sampled mode by default. */
    public static final int DEFAULT_SAMPLE_INTERVAL = 50_000;
    /** The quarantine's default cap: 20 MiB, near Valgrind's default freelist volume (20 MB). */
    public static final long DEFAULT_QUARANTINE_BYTES = 20L << 20;

    /** @return the purge delay in nanoseconds, {@code Long.MAX_VALUE} for a delay too long to count */
    public long purgeDelayNanos() {
        try {
            return purgeDelay.toNanos();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * @return the global heap's settings, from system properties read once
     * @throws IllegalArgumentException if a property is set to something it cannot be
     */
    public static HeapConfig global() {
        long delayMillis = property("malloc4j.purgeDelayMillis", DEFAULT_PURGE_DELAY.toMillis(), 0, Long.MAX_VALUE);
        String check = System.getProperty("malloc4j.check", "fast");
        CheckMode mode;
        try {
            mode = CheckMode.valueOf(check.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("malloc4j.check must be fast, sampled or full: " + check, e);
        }
        long interval = property("malloc4j.sampleInterval", DEFAULT_SAMPLE_INTERVAL, 1, Integer.MAX_VALUE);
        long quarantine = property("malloc4j.quarantineBytes", DEFAULT_QUARANTINE_BYTES, 0, Long.MAX_VALUE);
        leakReportAtExit();
        return new HeapConfig("global", Long.MAX_VALUE, Duration.ofMillis(delayMillis), mode, (int) interval,
                quarantine, null, true);
    }

    /**
     * @return whether {@code malloc4j.leakReportAtExit} asks for the global heap's leak report at exit
     * @throws IllegalArgumentException if it is set to other than {@code true} or {@code false}
     *     (either case), naming it
     */
    public static boolean leakReportAtExit() {
        String text = System.getProperty("malloc4j.leakReportAtExit");
        if (text == null || text.trim().equalsIgnoreCase("false")) {
            return false;
        }
        if (text.trim().equalsIgnoreCase("true")) {
            return true;
        }
        throw new IllegalArgumentException("malloc4j.leakReportAtExit must be true or false: " + text);
    }

    private static long property(String name, long fallback, long min, long max) {
        String text = System.getProperty(name);
        if (text == null) {
            return fallback;
        }
        try {
            long value = Long.parseLong(text.trim());
            if (value >= min && value <= max) {
                return value;
            }
        } catch (NumberFormatException e) {
            // reported below, with the range
        }
        throw new IllegalArgumentException(name + " must be a whole number from " + min + " to " + max + ": " + text);
    }
}
