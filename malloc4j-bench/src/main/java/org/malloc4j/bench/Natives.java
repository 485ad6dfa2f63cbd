package org.malloc4j.bench;

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
 * The native allocators, called through FFM downcalls in two linkages. {@link Glibc}, {@link Jemalloc},
 * {@link Mimalloc} and {@link Tcmalloc} are linked with {@link Linker.Option#critical critical(false)}:
 * no thread-state transition, the fastest way Java can call a short C function. {@link Standard}
 * links the same functions with no option, as the JDK's documentation of {@code critical} asks for
 * functions that are not "extremely short" in all cases, which a {@code malloc} that may map memory
 * or wait for a lock is not. Sizes and pointers cross as {@code long}, so a call allocates nothing.
 *
 * <p>Each allocator is a holder class whose handles are {@code static final}, so the JIT folds them
 * into the call site; a holder links on first use, after its benchmark's {@code @Setup} has called
 * {@link Library#require()}. The libraries are loaded with {@code dlopen} as a local scope, so
 * jemalloc's {@code malloc} does not replace the C library's in the rest of the JVM.
 */
@SuppressWarnings("restricted")
public final class Natives {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final FunctionDescriptor MALLOC = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG);
    private static final FunctionDescriptor FREE = FunctionDescriptor.ofVoid(JAVA_LONG);
    private static final FunctionDescriptor REALLOC = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG);
    private static final FunctionDescriptor CALLOC = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG);

    private Natives() {
    }

    /** A native allocator: where it lives and what its malloc family is called. */
    public enum Library {
        GLIBC("glibc", null, "malloc", "free", "realloc", "calloc", "part of the C library"),
        /** Debian's build exports the plain names (no {@code je_} prefix). */
        JEMALLOC("jemalloc", "libjemalloc.so.2", "malloc", "free", "realloc", "calloc",
                "Debian: apt-get install libjemalloc2; it loads only if the JVM was started with "
                        + "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=8192"),
        MIMALLOC("mimalloc", "libmimalloc.so.2", "mi_malloc", "mi_free", "mi_realloc", "mi_calloc",
                "Debian: apt-get install libmimalloc2.0"),
        TCMALLOC("tcmalloc", "libtcmalloc_minimal.so.4", "tc_malloc", "tc_free", "tc_realloc", "tc_calloc",
                "Debian: apt-get install libtcmalloc-minimal4");

        final String peer;
        final String soname;
        final String malloc;
        final String free;
        final String realloc;
        final String calloc;
        final String hint;
        private volatile String problem;
        private volatile boolean checked;

        Library(String peer, String soname, String malloc, String free, String realloc, String calloc,
                String hint) {
            this.peer = peer;
            this.soname = soname;
            this.malloc = malloc;
            this.free = free;
            this.realloc = realloc;
            this.calloc = calloc;
            this.hint = hint;
        }

        /** @return the peer's name, which is also the prefix of its benchmark methods */
        public String peer() {
            return peer;
        }

        /** @return why this allocator cannot be used here, or {@code null} if it can */
        public synchronized String problem() {
            if (!checked) {
                problem = findProblem();
                checked = true;
            }
            return problem;
        }

        /** @throws PeerUnavailableException if this allocator cannot be used here, saying why */
        public void require() {
            String why = problem();
            if (why != null) {
                throw new PeerUnavailableException(peer + " skipped: " + why);
            }
        }

        private String findProblem() {
            if (soname != null) {
                String error = Dl.open(soname);
                if (error != null) {
                    return soname + " does not load: " + error + " (" + hint + ")";
                }
            }
            SymbolLookup lookup = lookup();
            for (String symbol : new String[] {malloc, free, realloc, calloc}) {
                if (lookup.find(symbol).isEmpty()) {
                    return (soname == null ? "the C library" : soname) + " has no symbol " + symbol;
                }
            }
            return null;
        }

        SymbolLookup lookup() {
            return soname == null ? LINKER.defaultLookup() : SymbolLookup.libraryLookup(soname, Arena.global());
        }

        MethodHandle link(String symbol, FunctionDescriptor descriptor, Linker.Option... options) {
            require();
            MemorySegment address = lookup().find(symbol).orElseThrow();
            return LINKER.downcallHandle(address, descriptor, options);
        }
    }

    /** {@code dlopen}, to learn why a library does not load ({@code libraryLookup} does not say). */
    private static final class Dl {
        private static final int RTLD_LAZY = 0x1;
        private static final MethodHandle DLOPEN = LINKER.downcallHandle(
                LINKER.defaultLookup().find("dlopen").orElseThrow(), FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_INT));
        private static final MethodHandle DLERROR = LINKER.downcallHandle(
                LINKER.defaultLookup().find("dlerror").orElseThrow(), FunctionDescriptor.of(ADDRESS));

        /** @return {@code dlerror()} if {@code soname} does not load, else {@code null} */
        static String open(String soname) {
            try (Arena arena = Arena.ofConfined()) {
                long handle = (long) DLOPEN.invokeExact(arena.allocateFrom(soname), RTLD_LAZY);
                if (handle != 0) {
                    return null;
                }
                MemorySegment message = (MemorySegment) DLERROR.invokeExact();
                return message.equals(MemorySegment.NULL) ? "dlopen failed" : message.reinterpret(4096).getString(0);
            } catch (Throwable t) {
                return t.toString();
            }
        }
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /**
     * One allocator's malloc family as linked handles. A record, so the JIT trusts its fields as
     * constants when the instance is held in a {@code static final} field of a holder class.
     */
    record Downcalls(MethodHandle mallocHandle, MethodHandle freeHandle, MethodHandle reallocHandle,
                     MethodHandle callocHandle) {
        /** Links {@code library}'s malloc family as critical downcalls. */
        static Downcalls critical(Library library) {
            return link(library, Linker.Option.critical(false));
        }

        /** Links {@code library}'s malloc family as standard downcalls (no linker option). */
        static Downcalls standard(Library library) {
            return link(library);
        }

        private static Downcalls link(Library library, Linker.Option... options) {
            return new Downcalls(library.link(library.malloc, MALLOC, options), library.link(library.free, FREE, options),
                    library.link(library.realloc, REALLOC, options), library.link(library.calloc, CALLOC, options));
        }

        long malloc(long size) {
            try {
                return (long) mallocHandle.invokeExact(size);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        void free(long address) {
            try {
                freeHandle.invokeExact(address);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        long realloc(long address, long size) {
            try {
                return (long) reallocHandle.invokeExact(address, size);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        long calloc(long count, long size) {
            try {
                return (long) callocHandle.invokeExact(count, size);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
    }

    /** The C library's allocator (ptmalloc2), which {@code Unsafe} and {@code Arena} also use. */
    public static final class Glibc {
        private static final Downcalls D = Downcalls.critical(Library.GLIBC);

        private Glibc() {
        }

        public static long malloc(long size) { return D.malloc(size); }
        public static void free(long address) { D.free(address); }
        public static long realloc(long address, long size) { return D.realloc(address, size); }
        public static long calloc(long count, long size) { return D.calloc(count, size); }
    }

    /** jemalloc from {@code libjemalloc.so.2}. */
    public static final class Jemalloc {
        private static final Downcalls D = Downcalls.critical(Library.JEMALLOC);

        private Jemalloc() {
        }

        public static long malloc(long size) { return D.malloc(size); }
        public static void free(long address) { D.free(address); }
        public static long realloc(long address, long size) { return D.realloc(address, size); }
        public static long calloc(long count, long size) { return D.calloc(count, size); }
    }

    /** mimalloc from {@code libmimalloc.so.2} ({@code mi_malloc}, {@code mi_free}, {@code mi_realloc}, {@code mi_calloc}). */
    public static final class Mimalloc {
        private static final Downcalls D = Downcalls.critical(Library.MIMALLOC);

        private Mimalloc() {
        }

        public static long malloc(long size) { return D.malloc(size); }
        public static void free(long address) { D.free(address); }
        public static long realloc(long address, long size) { return D.realloc(address, size); }
        public static long calloc(long count, long size) { return D.calloc(count, size); }
    }

    /**
     * tcmalloc from {@code libtcmalloc_minimal.so.4} ({@code tc_malloc}, {@code tc_free}, {@code tc_realloc},
     * {@code tc_calloc}).
     */
    public static final class Tcmalloc {
        private static final Downcalls D = Downcalls.critical(Library.TCMALLOC);

        private Tcmalloc() {
        }

        public static long malloc(long size) { return D.malloc(size); }
        public static void free(long address) { D.free(address); }
        public static long realloc(long address, long size) { return D.realloc(address, size); }
        public static long calloc(long count, long size) { return D.calloc(count, size); }
    }

    /**
     * The same four allocators through standard downcalls (no linker option): the thread changes
     * state to native and back around each call, so a safepoint need not wait for a {@code malloc}
     * that maps memory or waits for a lock. This is how the JDK asks a program to link a function
     * that is not extremely short in all cases ({@link Linker.Option#critical}), and what a Java
     * program that follows it pays for each call. The figures malloc4j's speed targets were first
     * set against were measured this way: about 20 ns for a jemalloc or tcmalloc pair of mixed
     * sizes. Each holder has {@code malloc}, {@code realloc} and {@code free} only: no benchmark
     * with standard peers calls {@code calloc}.
     */
    public static final class Standard {
        private Standard() {
        }

        /** glibc through standard downcalls. */
        public static final class Glibc {
            private static final Downcalls D = Downcalls.standard(Library.GLIBC);

            private Glibc() {
            }

            public static long malloc(long size) { return D.malloc(size); }
            public static void free(long address) { D.free(address); }
            public static long realloc(long address, long size) { return D.realloc(address, size); }
        }

        /** jemalloc through standard downcalls. */
        public static final class Jemalloc {
            private static final Downcalls D = Downcalls.standard(Library.JEMALLOC);

            private Jemalloc() {
            }

            public static long malloc(long size) { return D.malloc(size); }
            public static void free(long address) { D.free(address); }
            public static long realloc(long address, long size) { return D.realloc(address, size); }
        }

        /** mimalloc through standard downcalls. */
        public static final class Mimalloc {
            private static final Downcalls D = Downcalls.standard(Library.MIMALLOC);

            private Mimalloc() {
            }

            public static long malloc(long size) { return D.malloc(size); }
            public static void free(long address) { D.free(address); }
            public static long realloc(long address, long size) { return D.realloc(address, size); }
        }

        /** tcmalloc through standard downcalls. */
        public static final class Tcmalloc {
            private static final Downcalls D = Downcalls.standard(Library.TCMALLOC);

            private Tcmalloc() {
            }

            public static long malloc(long size) { return D.malloc(size); }
            public static void free(long address) { D.free(address); }
            public static long realloc(long address, long size) { return D.realloc(address, size); }
        }
    }

    /**
     * A native block seen as a segment of its size, as a program wrapping a native allocator for
     * bounds-checked access would see it.
     *
     * @param address the block
     * @param size its size
     * @return a segment of {@code size} bytes at {@code address}
     */
    public static MemorySegment segment(long address, long size) {
        return MemorySegment.ofAddress(address).reinterpret(size);
    }
}
