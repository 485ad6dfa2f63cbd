package org.malloc4j.cli;

/**
 * The common part of the adapters whose memory comes from C (the {@link LibraryAllocator}s and the
 * {@code arena} adapter): before and after each trace the allocator is asked to give its free memory
 * back to the operating system, and its footprint is, unless a subclass knows better, the growth of
 * the process's resident set size.
 */
abstract class NativeAllocator implements ReplayAllocator {
    private final String name;
    private final RssProbe rss = RssProbe.open();

    /** @param name the allocator's name on the command line */
    NativeAllocator(String name) {
        this.name = name;
    }

    /** Gives the allocator's free memory back to the operating system (its "trim" or "purge"). */
    abstract void releaseFreeMemory();

    @Override
    public final String name() {
        return name;
    }

    @Override
    public String footprintSource() {
        return "RSS growth (/proc/self/statm)";
    }

    @Override
    public void startTrace(int numIds) {
        releaseFreeMemory();
    }

    @Override
    public long footprint() {
        return rss == null ? -1 : rss.bytes();
    }

    @Override
    public void endTrace() {
        releaseFreeMemory();
    }
}
