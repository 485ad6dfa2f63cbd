package org.malloc4j.cli;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The process's resident set size (RSS): the physical memory its pages take, read from
 * {@code /proc/self/statm} with one {@code pread} (about 2 µs), cheap enough to sample after every
 * request. A worker's Java heap is fixed and pre-touched, so RSS growth during a replay is the
 * allocator's: the pages it hands out and touches, and its metadata.
 */
final class RssProbe {
    private static final String STATM = "/proc/self/statm";
    private static final MethodHandle OPEN = Downcalls.function(Downcalls.defaultLookup(), "open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle PREAD = Downcalls.critical(Downcalls.defaultLookup(), "pread",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PAGE_SIZE = Downcalls.function(Downcalls.defaultLookup(), "getpagesize",
            FunctionDescriptor.of(JAVA_INT));
    private static final int CAPACITY = 128;

    private final int fd;
    private final long pageSize;
    private final MemorySegment buffer;

    private RssProbe(int fd, long pageSize) {
        this.fd = fd;
        this.pageSize = pageSize;
        this.buffer = Arena.global().allocate(CAPACITY);
    }

    /** @return a probe, or null where {@code /proc/self/statm} cannot be opened */
    static RssProbe open() {
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(arena.allocateFrom(STATM), 0);
            return fd < 0 ? null : new RssProbe(fd, (int) PAGE_SIZE.invokeExact());
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    /** @return the resident set size in bytes, or -1 if it could not be read */
    long bytes() {
        long length;
        try {
            length = (long) PREAD.invokeExact(fd, buffer.address(), (long) CAPACITY, 0L);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
        return length <= 0 ? -1 : residentPages(length) * pageSize;
    }

    /** The second field of statm ("size resident shared text lib data dt"), in pages. */
    private long residentPages(long length) {
        int i = 0;
        while (i < length && buffer.get(ValueLayout.JAVA_BYTE, i) != ' ') {
            i++;
        }
        long pages = 0;
        for (i++; i < length; i++) {
            byte b = buffer.get(ValueLayout.JAVA_BYTE, i);
            if (b < '0' || b > '9') {
                break;
            }
            pages = pages * 10 + (b - '0');
        }
        return pages;
    }
}
