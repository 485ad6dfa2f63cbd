package org.malloc4j.cli;

import java.lang.management.ManagementFactory;

/** The machine's physical memory, as the JVM sees it (a container's limit where one is set). */
public final class PhysicalMemory {
    private PhysicalMemory() {
    }

    /** @return the total physical memory in bytes, or 0 if the JVM cannot tell */
    public static long totalBytes() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return 0;
    }

    /**
     * The checked pass writes a pattern into every byte of every block: a trace whose live blocks
     * add up to more than the machine's memory would make an allocator that grants them (jemalloc
     * hands out a 100 GB block on a 24 GiB machine) page for minutes and then meet the OOM killer.
     *
     * @param memoryBytes the machine's memory ({@link #totalBytes()}), 0 if unknown
     * @return why {@code trace} is not replayed here, or null if it fits in {@code memoryBytes}
     */
    public static String beyondMemory(Trace trace, long memoryBytes) {
        if (memoryBytes <= 0 || trace.peakLiveBytes() <= memoryBytes) {
            return null;
        }
        return "its live blocks add up to " + Units.bytes(trace.peakLiveBytes()) + " at their peak, more than this "
                + "machine's " + Units.bytes(memoryBytes) + " of memory, which the checked pass would write in full: "
                + "not replayed (a limit of the machine, not a fault of any allocator)";
    }
}
