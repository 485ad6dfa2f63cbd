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
 */
public record HeapConfig(String name, long maxCommittedBytes, Duration purgeDelay, CheckMode mode,
                         int sampleInterval, long quarantineBytes, FaultPolicy faults) {
    /** The purge delay when none is given: 250 ms, within mimalloc's 10 ms to 1 s. */
    public static final Duration DEFAULT_PURGE_DELAY = Duration.ofMillis(250);
    /** One allocation in this many is checked in sampled mode by default. */
    public static final int DEFAULT_SAMPLE_INTERVAL = 1000;
    /** The quarantine's default cap: 20 MiB, near Valgrind's default freelist volume (20 MB). */
    public static final long DEFAULT_QUARANTINE_BYTES = 20L << 20;

    /** @return the global heap's settings, from system properties read once */
    public static HeapConfig global() {
        long delayMillis = Long.getLong("malloc4j.purgeDelayMillis", DEFAULT_PURGE_DELAY.toMillis());
        String check = System.getProperty("malloc4j.check", "fast").trim().toUpperCase(Locale.ROOT);
        CheckMode mode;
        try {
            mode = CheckMode.valueOf(check);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("malloc4j.check must be fast, sampled or full: " + check, e);
        }
        int interval = Integer.getInteger("malloc4j.sampleInterval", DEFAULT_SAMPLE_INTERVAL);
        long quarantine = Long.getLong("malloc4j.quarantineBytes", DEFAULT_QUARANTINE_BYTES);
        return new HeapConfig("global", Long.MAX_VALUE, Duration.ofMillis(Math.max(0, delayMillis)), mode,
                Math.max(1, interval), Math.max(0, quarantine), null);
    }
}
