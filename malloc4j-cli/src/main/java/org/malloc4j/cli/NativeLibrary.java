package org.malloc4j.cli;

import java.lang.foreign.SymbolLookup;
import java.util.List;

/**
 * Where a C allocator's functions are: a shared library that {@code dlopen} finds by its file name,
 * or the C library itself; and the names its {@code malloc}, {@code realloc} and {@code free} go by
 * there ({@code mi_malloc}, {@code tc_malloc}, ...).
 *
 * @param soname the library's file name, such as {@code libjemalloc.so.2}; null for the C library
 *     (the default symbol lookup, which the JVM has loaded already)
 * @param installHint how to install the library, for the message when it is missing
 * @param malloc the name of its {@code void *malloc(size_t)}
 * @param realloc the name of its {@code void *realloc(void *, size_t)}
 * @param free the name of its {@code void free(void *)}
 * @param otherSymbols the adapter's other functions there, such as {@code mallctl}
 */
record NativeLibrary(String soname, String installHint, String malloc, String realloc, String free,
        List<String> otherSymbols) {
    /** @return the C library's own {@code malloc}, {@code realloc} and {@code free} */
    static NativeLibrary cLibrary() {
        return new NativeLibrary(null, null, "malloc", "realloc", "free", List.of());
    }

    /**
     * Loads the library for the rest of the process's life and checks that it has the malloc family
     * and the other symbols.
     *
     * @throws AllocatorUnavailableException with {@code dlopen}'s reason, or naming the first
     *     missing symbol
     */
    void load() throws AllocatorUnavailableException {
        SymbolLookup symbols = soname == null ? Downcalls.defaultLookup() : Downcalls.library(soname, installHint);
        String where = soname == null ? "the C library" : soname;
        Downcalls.require(symbols, where, malloc, realloc, free);
        Downcalls.require(symbols, where, otherSymbols.toArray(String[]::new));
    }

    /** @return the library's symbols, once {@link #load} has succeeded */
    SymbolLookup symbols() {
        return soname == null ? Downcalls.defaultLookup() : Downcalls.loaded(soname);
    }

    /**
     * @return the malloc family, linked as this process's {@link DowncallLinkage#selected()} says,
     *     once {@link #load} has succeeded
     */
    MallocFamily link() {
        SymbolLookup symbols = symbols();
        DowncallLinkage linkage = DowncallLinkage.selected();
        return new MallocFamily(Downcalls.mallocFamily(symbols, malloc, Downcalls.MALLOC, linkage),
                Downcalls.mallocFamily(symbols, realloc, Downcalls.REALLOC, linkage),
                Downcalls.mallocFamily(symbols, free, Downcalls.FREE, linkage));
    }
}
