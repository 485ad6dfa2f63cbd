package org.malloc4j.bench;

import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.lang.foreign.Arena;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import org.apache.arrow.memory.RootAllocator;
import org.malloc4j.Heap;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The Java peers, each in a holder initialized on first use (so a fork that runs one peer loads no
 * other), and the JMH states that check a native peer can run before its benchmark starts.
 */
public final class Peers {
    private Peers() {
    }

    /**
     * One block in an arena of its own, the arena closed at once: the pair of an {@code Arena} per
     * block (a JDK arena, or a malloc4j scope).
     *
     * @param arena a new arena, closed here
     * @param byteSize the block's size
     * @return the block's address
     */
    public static long blockInOwnArena(Arena arena, long byteSize) {
        try (arena) {
            return arena.allocate(byteSize, Heap.MIN_ALIGNMENT).address();
        }
    }

    /** malloc4j's process-wide heap, as most programs use it. */
    public static final class Malloc4j {
        public static final Heap HEAP = Heap.global();

        private Malloc4j() {
        }
    }

    /**
     * {@code sun.misc.Unsafe}'s {@code allocateMemory}, {@code reallocateMemory} and
     * {@code freeMemory}, as method handles bound to {@code theUnsafe} (constants the JIT inlines
     * like direct calls), so the build does not depend on the class.
     */
    public static final class Unsafe {
        private static final MethodHandle ALLOCATE;
        private static final MethodHandle REALLOCATE;
        private static final MethodHandle FREE;

        static {
            try {
                Class<?> type = Class.forName("sun.misc.Unsafe");
                Field field = type.getDeclaredField("theUnsafe");
                field.setAccessible(true);
                Object unsafe = field.get(null);
                MethodHandles.Lookup lookup = MethodHandles.publicLookup();
                ALLOCATE = lookup.findVirtual(type, "allocateMemory", MethodType.methodType(long.class, long.class))
                        .bindTo(unsafe);
                REALLOCATE = lookup.findVirtual(type, "reallocateMemory",
                        MethodType.methodType(long.class, long.class, long.class)).bindTo(unsafe);
                FREE = lookup.findVirtual(type, "freeMemory", MethodType.methodType(void.class, long.class))
                        .bindTo(unsafe);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private Unsafe() {
        }

        public static long allocate(long size) {
            try {
                return (long) ALLOCATE.invokeExact(size);
            } catch (Throwable t) {
                throw Natives.rethrow(t);
            }
        }

        public static long reallocate(long address, long size) {
            try {
                return (long) REALLOCATE.invokeExact(address, size);
            } catch (Throwable t) {
                throw Natives.rethrow(t);
            }
        }

        public static void free(long address) {
            try {
                FREE.invokeExact(address);
            } catch (Throwable t) {
                throw Natives.rethrow(t);
            }
        }
    }

    /** Netty's default pooled allocator ({@code PooledByteBufAllocator.DEFAULT}). */
    public static final class NettyPooled {
        public static final ByteBufAllocator ALLOCATOR = PooledByteBufAllocator.DEFAULT;

        private NettyPooled() {
        }
    }

    /** Netty 4.2's adaptive allocator (the default allocator of Netty 4.2 channels). */
    public static final class NettyAdaptive {
        public static final ByteBufAllocator ALLOCATOR = new AdaptiveByteBufAllocator();

        private NettyAdaptive() {
        }
    }

    /** Fails the benchmark with a clear message when jemalloc cannot be loaded. */
    @State(Scope.Benchmark)
    public static class JemallocAvailable {
        @Setup(Level.Trial)
        public void check() {
            Natives.Library.JEMALLOC.require();
        }
    }

    /** Fails the benchmark with a clear message when mimalloc cannot be loaded. */
    @State(Scope.Benchmark)
    public static class MimallocAvailable {
        @Setup(Level.Trial)
        public void check() {
            Natives.Library.MIMALLOC.require();
        }
    }

    /** Fails the benchmark with a clear message when tcmalloc cannot be loaded. */
    @State(Scope.Benchmark)
    public static class TcmallocAvailable {
        @Setup(Level.Trial)
        public void check() {
            Natives.Library.TCMALLOC.require();
        }
    }

    /** An Arrow {@link RootAllocator} with no limit (its allocation manager: Unsafe), closed after the trial. */
    @State(Scope.Benchmark)
    public static class Arrow {
        public RootAllocator root;

        @Setup(Level.Trial)
        public void open() {
            root = new RootAllocator();
        }

        @TearDown(Level.Trial)
        public void close() {
            root.close();
        }
    }
}
