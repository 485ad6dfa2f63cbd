package org.malloc4j.cli;

import java.lang.management.ManagementFactory;

/** The machine's physical memory, as the JVM sees it (a container's limit where one is set). */
final class PhysicalMemory {
    private PhysicalMemory() {
    }

    /** @return the total physical memory in bytes, or 0 if the JVM cannot tell */
    static long totalBytes() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return 0;
    }
}
