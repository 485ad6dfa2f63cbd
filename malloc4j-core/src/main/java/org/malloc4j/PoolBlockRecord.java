package org.malloc4j;

import org.malloc4j.internal.SanitizerReports;
import org.malloc4j.internal.StackDepot;

/**
 * What a checked mode knows about one block of a {@link FixedSizePool}: who took it from the pool
 * last and, once freed, who gave it back. Made at the take (for every block in
 * {@link CheckMode#FULL}, for the sampled ones in {@link CheckMode#SAMPLED}), so a double free or an
 * interior free can be reported with both stacks, as a heap block's is, and a leak report can say
 * where a block still handed out was taken. Not thread-safe; the pool guards it, except from a leak
 * report, which reads the take's final fields on any thread.
 */
final class PoolBlockRecord {
    /** The taking thread as reports name it ({@link SanitizerReports#currentThread}). */
    final String takeThread;
    final StackTraceElement[] takeStack;
    /** Who gave the block back; null while it is live. */
    String giveThread;
    StackTraceElement[] giveStack;

    /** Records the calling thread and its stack as the block's take. */
    PoolBlockRecord() {
        this.takeThread = SanitizerReports.currentThread();
        this.takeStack = StackDepot.capture();
    }

    /** Records the calling thread and its stack as the block's give back. */
    void given() {
        giveThread = SanitizerReports.currentThread();
        giveStack = StackDepot.capture();
    }

    /** @return whether the block was given back since this take */
    boolean isGivenBack() {
        return giveStack != null;
    }

    /** @return the record's stacks in a report's words: the give back first, as AddressSanitizer orders them */
    String describe() {
        if (giveStack == null) {
            return SanitizerReports.stack("allocated by " + takeThread + " here:", takeStack);
        }
        return SanitizerReports.stack("freed by " + giveThread + " here:", giveStack)
                + SanitizerReports.stack("previously allocated by " + takeThread + " here:", takeStack);
    }
}
