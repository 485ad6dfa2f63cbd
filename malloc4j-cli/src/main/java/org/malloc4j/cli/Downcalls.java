package org.malloc4j.cli;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The replay's link to C: loads shared libraries and makes downcall handles. Every restricted FFM
 * call of the command ({@code Linker.downcallHandle}, {@code SymbolLookup.libraryLookup},
 * {@code MemorySegment.reinterpret}) is in this class.
 *
 * <p>Sizes and pointers cross as {@code long} ({@code size_t} and {@code void *} on the 64-bit
 * platforms FFM runs on), so a call allocates no Java object. The malloc family is linked as
 * {@link DowncallLinkage} says: by default as <em>critical</em> functions
 * ({@link Linker.Option#critical}), made without the thread-state transition of an ordinary
 * downcall, the fastest way a Java program can call a native allocator.
 */
final class Downcalls {
    /** {@code void *malloc(size_t)}. */
    static final FunctionDescriptor MALLOC = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG);
    /** {@code void *realloc(void *, size_t)}. */
    static final FunctionDescriptor REALLOC = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG);
    /** {@code void free(void *)}. */
    static final FunctionDescriptor FREE = FunctionDescriptor.ofVoid(JAVA_LONG);

    private static final Linker LINKER = Linker.nativeLinker();
    private static final int RTLD_LAZY = 0x1;
    private static final MethodHandle DLOPEN = function(LINKER.defaultLookup(), "dlopen",
            FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_INT));
    private static final MethodHandle DLERROR = function(LINKER.defaultLookup(), "dlerror",
            FunctionDescriptor.of(ADDRESS));

    private Downcalls() {
    }

    /** @return the symbols of the C library and of everything the JVM loaded at start */
    static SymbolLookup defaultLookup() {
        return LINKER.defaultLookup();
    }

    /**
     * Loads a shared library for the rest of the process's life.
     *
     * @param soname the library's file name, found as {@code dlopen} finds it, such as
     *     {@code libjemalloc.so.2}
     * @param installHint how to install it, for the message when it is missing
     * @return its symbols
     * @throws AllocatorUnavailableException with {@code dlopen}'s own reason if it does not load
     */
    static SymbolLookup library(String soname, String installHint) throws AllocatorUnavailableException {
        try (Arena arena = Arena.ofConfined()) {
            long handle = (long) DLOPEN.invokeExact(arena.allocateFrom(soname), RTLD_LAZY);
            if (handle == 0) {
                String reason = dlerror();
                String hint = reason.contains("No such file") ? " (" + installHint + ")" : "";
                throw new AllocatorUnavailableException(reason + hint);
            }
        } catch (AllocatorUnavailableException e) {
            throw e;
        } catch (Throwable t) {
            throw new AllocatorUnavailableException(soname + " could not be loaded: " + t, t);
        }
        return loaded(soname);
    }

    /**
     * @param soname a library that {@link #library} has loaded
     * @return its symbols
     * @throws IllegalArgumentException if it does not load
     */
    static SymbolLookup loaded(String soname) {
        return SymbolLookup.libraryLookup(soname, Arena.global());
    }

    /**
     * Checks that a library has every symbol an adapter needs.
     *
     * @throws AllocatorUnavailableException naming the first missing symbol
     */
    static void require(SymbolLookup lookup, String library, String... symbols)
            throws AllocatorUnavailableException {
        for (String symbol : symbols) {
            if (lookup.find(symbol).isEmpty()) {
                throw new AllocatorUnavailableException(library + " has no symbol " + symbol);
            }
        }
    }

    /**
     * Links a short function as a critical function.
     *
     * @throws IllegalStateException if the symbol is missing (check with {@link #require} first)
     */
    static MethodHandle critical(SymbolLookup lookup, String symbol, FunctionDescriptor descriptor) {
        return mallocFamily(lookup, symbol, descriptor, DowncallLinkage.CRITICAL);
    }

    /**
     * Links one of an allocator's malloc-family functions as {@code linkage} says.
     *
     * @throws IllegalStateException if the symbol is missing (check with {@link #require} first)
     */
    static MethodHandle mallocFamily(SymbolLookup lookup, String symbol, FunctionDescriptor descriptor,
            DowncallLinkage linkage) {
        return LINKER.downcallHandle(find(lookup, symbol), descriptor, linkage.options());
    }

    /**
     * Links a function with an ordinary downcall.
     *
     * @throws IllegalStateException if the symbol is missing
     */
    static MethodHandle function(SymbolLookup lookup, String symbol, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(find(lookup, symbol), descriptor);
    }

    /**
     * Calls a function that runs once per trace, such as a trim or a purge. It boxes its arguments
     * and result; per-request calls use {@code invokeExact} on a constant handle instead.
     *
     * @param function a downcall handle
     * @param arguments its arguments
     * @return what it returned (null for a void function)
     */
    static Object call(MethodHandle function, Object... arguments) {
        try {
            return function.invokeWithArguments(arguments);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    /**
     * @return a segment spanning the whole address space, to read and write blocks at raw addresses
     */
    static MemorySegment everything() {
        return MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    }

    /**
     * @param t what a downcall threw
     * @return it as an unchecked exception, to throw
     */
    static RuntimeException unchecked(Throwable t) {
        if (t instanceof RuntimeException e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    private static MemorySegment find(SymbolLookup lookup, String symbol) {
        return lookup.find(symbol).orElseThrow(() -> new IllegalStateException("no symbol " + symbol));
    }

    private static String dlerror() throws Throwable {
        MemorySegment message = (MemorySegment) DLERROR.invokeExact();
        return message.equals(MemorySegment.NULL)
                ? "dlopen failed without a reason"
                : message.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
