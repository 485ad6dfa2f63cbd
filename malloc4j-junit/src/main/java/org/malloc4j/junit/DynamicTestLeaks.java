package org.malloc4j.junit;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;

/**
 * Which dynamic tests of a {@code @TestFactory} ended with more blocks live in a heap than they
 * began with: a factory is checked for leaks once, after its last dynamic test, and this says in
 * its failure where to look. Kept for each heap the factory is checked on: the one the extension
 * gives it, and the global heap.
 */
final class DynamicTestLeaks {
    /** How many dynamic tests a leak message names at most. */
    private static final int NAMED = 10;

    private final Heap heap;
    /** The unique id of the factory, whose dynamic tests are named after the containers below it. */
    private final String factoryId;
    /** What else may have left the blocks when no dynamic test did, as a leak message says it. */
    private final String otherSources;
    /** The dynamic tests that ended with more blocks live than they began with, in the order they ended. */
    private final List<Growth> growth = new ArrayList<>();
    /** How many of the factory's dynamic tests have started, and how many are running now. */
    private int started;
    private int running;
    /** Whether a dynamic test began while another was running (parallel execution). */
    private boolean overlapped;

    /**
     * @param heap the heap whose live blocks are compared before and after each dynamic test
     * @param factoryId the unique id of the factory's extension context
     * @param otherSources what else may have left the blocks, as in {@code "the factory method left
     *     them"}, for a leak no dynamic test left
     */
    DynamicTestLeaks(Heap heap, String factoryId, String otherSources) {
        this.heap = heap;
        this.factoryId = factoryId;
        this.otherSources = otherSources;
    }

    /** A dynamic test's run, which may throw anything. */
    @FunctionalInterface
    interface DynamicTestRun {
        void run() throws Throwable;
    }

    /**
     * Runs the dynamic test of {@code context}, noting how many more blocks it left live than it found.
     *
     * @throws Throwable what the dynamic test throws
     */
    void run(ExtensionContext context, DynamicTestRun test) throws Throwable {
        String name = nameOf(context);
        synchronized (this) {
            started++;
            overlapped |= running++ > 0;
        }
        HeapStats before = heap.stats();
        try {
            test.run();
        } finally {
            HeapStats after = heap.stats();
            synchronized (this) {
                running--;
                if (after.liveBlocks() > before.liveBlocks()) {
                    growth.add(new Growth(name, after.liveBlocks() - before.liveBlocks(),
                            after.requestedBytes() - before.requestedBytes()));
                }
            }
        }
    }

    /** @return the display name of the dynamic test of {@code context}, after those of its containers */
    private String nameOf(ExtensionContext context) {
        List<String> names = new ArrayList<>();
        for (ExtensionContext scope = context; scope != null && !scope.getUniqueId().equals(factoryId);
                scope = scope.getParent().orElse(null)) {
            names.addFirst(scope.getDisplayName());
        }
        return String.join(" > ", names);
    }

    /**
     * @return the line a leak failure's message gives after its first, saying which dynamic tests
     *     ended with more blocks live than they began with; empty if no dynamic test ran
     */
    synchronized String line() {
        if (started == 0) {
            return "";
        }
        if (overlapped) {
            return "(its dynamic tests ran at the same time, so which of them left the blocks cannot be told)\n";
        }
        if (growth.isEmpty()) {
            return "(no dynamic test ended with more blocks live than it began with: " + otherSources + ")\n";
        }
        List<String> named = growth.stream().limit(NAMED).map(Growth::toString).toList();
        int more = growth.size() - named.size();
        return "(dynamic tests that ended with more blocks live than they began with: " + String.join(", ", named)
                + (more > 0 ? ", and " + more + " more" : "") + ")\n";
    }

    /**
     * A dynamic test that ended with more blocks live than it began with, and {@code bytes} more
     * requested bytes: fewer, if it freed larger blocks than it left.
     */
    private record Growth(String name, long blocks, long bytes) {
        @Override
        public String toString() {
            return "'" + name + "' (" + blocks + " block(s), " + (bytes >= 0 ? bytes + " byte(s)"
                    : "but " + -bytes + " byte(s) fewer: it freed larger blocks than it left") + ")";
        }
    }
}
