package org.malloc4j.cli;

import java.util.List;
import java.util.Locale;

/**
 * The allocators the replay knows, by their command-line names, and how to open each.
 */
public final class AllocatorCatalog {
    /** Every allocator, in report order. */
    public static final List<String> NAMES = List.of("malloc4j", "glibc", "jemalloc", "mimalloc", "tcmalloc", "arena");

    /** The C allocators, called through FFM downcalls linked as {@code replay --downcalls} says. */
    public static final List<String> NATIVE = List.of("glibc", "jemalloc", "mimalloc", "tcmalloc");

    /** The allocator whose throughput is the reference of the performance index. */
    public static final String REFERENCE = "glibc";

    private AllocatorCatalog() {
    }

    /**
     * @param name a name, any case
     * @return whether it names a known allocator
     */
    public static boolean isKnown(String name) {
        return NAMES.contains(name.toLowerCase(Locale.ROOT));
    }

    /** @return the message for an allocator name that is not known, with those that are */
    static String unknown(String name) {
        return "unknown allocator '" + name + "'; known: " + String.join(", ", NAMES);
    }

    /**
     * Opens an allocator in this process: loads its library and links its functions.
     *
     * @param name one of {@link #NAMES}
     * @return the adapter
     * @throws AllocatorUnavailableException if it cannot run here, with the reason
     * @throws IllegalArgumentException if the name is unknown
     */
    public static ReplayAllocator open(String name) throws AllocatorUnavailableException {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "malloc4j" -> Malloc4jAllocator.open();
            case "glibc" -> new GlibcAllocator();
            case "jemalloc" -> new JemallocAllocator();
            case "mimalloc" -> new MimallocAllocator();
            case "tcmalloc" -> new TcmallocAllocator();
            case "arena" -> ArenaAllocator.open();
            default -> throw new IllegalArgumentException(unknown(name));
        };
    }
}
