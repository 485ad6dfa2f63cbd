package org.malloc4j.internal;

import java.time.Duration;

/**
 * A heap's settings, fixed at construction.
 *
 * @param name the heap's name, for reports
 * @param maxCommittedBytes the most bytes the heap may commit ({@code Long.MAX_VALUE}: no limit)
 * @param purgeDelay how long empty pages stay committed before they are returned to the OS
 */
public record HeapConfig(String name, long maxCommittedBytes, Duration purgeDelay) {
    /** The purge delay when none is given: 250 ms, within mimalloc's 10 ms to 1 s. */
    public static final Duration DEFAULT_PURGE_DELAY = Duration.ofMillis(250);

    /** @return the global heap's settings, from system properties read once */
    public static HeapConfig global() {
        long delayMillis = Long.getLong("malloc4j.purgeDelayMillis", DEFAULT_PURGE_DELAY.toMillis());
        return new HeapConfig("global", Long.MAX_VALUE, Duration.ofMillis(Math.max(0, delayMillis)));
    }
}
