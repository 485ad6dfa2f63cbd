package org.malloc4j.cli;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

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
final class TcmallocAllocator extends LibraryAllocator {
    private static final NativeLibrary LIBRARY = new NativeLibrary("libtcmalloc_minimal.so.4",
            "Debian: apt-get install libtcmalloc-minimal4", "tc_malloc", "tc_realloc", "tc_free",
            List.of("MallocExtension_MarkThreadIdle", "MallocExtension_ReleaseFreeMemory",
                    "MallocExtension_GetNumericProperty"));
    private static final String HEAP_SIZE = "generic.heap_size";
    private static final String UNMAPPED = "tcmalloc.pageheap_unmapped_bytes";

    /** Where {@code MallocExtension_GetNumericProperty} writes a value. */
    private final MemorySegment value = Arena.global().allocate(JAVA_LONG);

    TcmallocAllocator() throws AllocatorUnavailableException {
        super("tcmalloc", LIBRARY, size -> Functions.FAMILY.malloc(size),
                (address, size) -> Functions.FAMILY.realloc(address, size), address -> Functions.FAMILY.free(address));
    }

    @Override
    public String footprintSource() {
        return HEAP_SIZE + " - " + UNMAPPED + ", in a fresh process per trace";
    }

    /** Sampled after every request that allocates: a direct call, allocating nothing. */
    @Override
    public long footprint() {
        long mapped = property(Functions.HEAP_SIZE_NAME);
        long free = property(Functions.UNMAPPED_NAME);
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
        Downcalls.call(Functions.IDLE);
        Downcalls.call(Functions.RELEASE);
    }

    /** Linked when first used, after the constructor has loaded the library. */
    private static final class Functions {
        static final MallocFamily FAMILY = LIBRARY.link();
        static final MethodHandle IDLE = Downcalls.function(LIBRARY.symbols(), "MallocExtension_MarkThreadIdle",
                FunctionDescriptor.ofVoid());
        static final MethodHandle RELEASE = Downcalls.function(LIBRARY.symbols(),
                "MallocExtension_ReleaseFreeMemory", FunctionDescriptor.ofVoid());
        static final MethodHandle PROPERTY = Downcalls.function(LIBRARY.symbols(),
                "MallocExtension_GetNumericProperty", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        /** The properties' names, as C strings. */
        static final MemorySegment HEAP_SIZE_NAME = Arena.global().allocateFrom(HEAP_SIZE);
        static final MemorySegment UNMAPPED_NAME = Arena.global().allocateFrom(UNMAPPED);
    }
}
