package org.malloc4j.cli;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * gperftools' tcmalloc, from Debian's {@code libtcmalloc_minimal.so.4}: {@code tc_malloc},
 * {@code tc_realloc}, {@code tc_free}. Before each trace {@code MallocExtension_MarkThreadIdle()}
 * returns the thread cache to the central lists and {@code MallocExtension_ReleaseFreeMemory()}
 * unmaps the free pages. Footprint: tcmalloc's own
 * figure, {@code generic.heap_size} minus {@code tcmalloc.pageheap_unmapped_bytes} (the heap it has
 * mapped, free lists and caches included), read with {@code MallocExtension_GetNumericProperty}.
 * tcmalloc cannot empty its central and transfer caches, from which a trace would be served
 * without the footprint growing, so the replay measures its footprint in a fresh process per trace
 * ({@link #footprintNeedsOwnProcess()}).
 */
final class TcmallocAllocator extends NativeAllocator {
    static final String LIBRARY = "libtcmalloc_minimal.so.4";
    private static final String HEAP_SIZE = "generic.heap_size";
    private static final String UNMAPPED = "tcmalloc.pageheap_unmapped_bytes";

    /** Linked when first used, after {@link #open()} has loaded the library. */
    private static final class Functions {
        static final SymbolLookup LIB = Downcalls.loaded(LIBRARY);
        static final MethodHandle MALLOC = Downcalls.critical(LIB, "tc_malloc", Downcalls.MALLOC);
        static final MethodHandle REALLOC = Downcalls.critical(LIB, "tc_realloc", Downcalls.REALLOC);
        static final MethodHandle FREE = Downcalls.critical(LIB, "tc_free", Downcalls.FREE);
        static final MethodHandle IDLE = Downcalls.function(LIB, "MallocExtension_MarkThreadIdle",
                FunctionDescriptor.ofVoid());
        static final MethodHandle RELEASE = Downcalls.function(LIB, "MallocExtension_ReleaseFreeMemory",
                FunctionDescriptor.ofVoid());
        static final MethodHandle PROPERTY = Downcalls.function(LIB, "MallocExtension_GetNumericProperty",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    }

    private final MemorySegment heapSize = Arena.global().allocateFrom(HEAP_SIZE);
    private final MemorySegment unmapped = Arena.global().allocateFrom(UNMAPPED);
    private final MemorySegment value = Arena.global().allocate(JAVA_LONG);

    private TcmallocAllocator() {
        super("tcmalloc");
    }

    /**
     * @return the adapter
     * @throws AllocatorUnavailableException if the library is missing or does not load
     */
    static TcmallocAllocator open() throws AllocatorUnavailableException {
        SymbolLookup lib = Downcalls.library(LIBRARY, "Debian: apt-get install libtcmalloc-minimal4");
        Downcalls.require(lib, LIBRARY, "tc_malloc", "tc_realloc", "tc_free",
                "MallocExtension_MarkThreadIdle", "MallocExtension_ReleaseFreeMemory",
                "MallocExtension_GetNumericProperty");
        return new TcmallocAllocator();
    }

    @Override
    public String footprintSource() {
        return HEAP_SIZE + " - " + UNMAPPED + ", in a fresh process per trace";
    }

    @Override
    public long footprint() {
        long mapped = property(heapSize);
        long free = property(unmapped);
        return mapped < 0 || free < 0 ? -1 : mapped - free;
    }

    @Override
    public boolean footprintNeedsOwnProcess() {
        return true;
    }

    private long property(MemorySegment name) {
        try {
            int found = (int) Functions.PROPERTY.invokeExact(name, value);
            return found == 0 ? -1 : value.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    @Override
    void releaseFreeMemory() {
        try {
            Functions.IDLE.invokeExact();
            Functions.RELEASE.invokeExact();
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    @Override
    public long malloc(int id, long size) {
        try {
            return (long) Functions.MALLOC.invokeExact(size);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    @Override
    public long realloc(int id, long address, long size) {
        try {
            return (long) Functions.REALLOC.invokeExact(address, size);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    @Override
    public void free(int id, long address) {
        try {
            Functions.FREE.invokeExact(address);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }
}
