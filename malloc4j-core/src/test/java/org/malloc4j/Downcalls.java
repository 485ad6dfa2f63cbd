package org.malloc4j;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.CountDownLatch;

/**
 * Runs Java code while a downcall holds a segment: C's {@code qsort} sorts the segment, and its
 * comparator, called back in Java, runs the code once. The JDK keeps the segment's scope acquired
 * meanwhile, so closing its arena throws {@link IllegalStateException}.
 */
final class Downcalls {
    /** Per thread: the comparator runs on the thread of its downcall, and threads may hold segments at once. */
    private static final ThreadLocal<Runnable> WHILE_HELD = new ThreadLocal<>();
    private static final ThreadLocal<Throwable> FAILED_WHILE_HELD = new ThreadLocal<>();

    private Downcalls() {
    }

    /** Runs {@code action} in Java during a downcall that holds {@code segment} (at least 2 bytes). */
    static void whileHeldByADowncall(MemorySegment segment, Runnable action) throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle qsort = linker.downcallHandle(linker.defaultLookup().find("qsort").orElseThrow(),
                FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS));
        MethodHandle compare = MethodHandles.lookup().findStatic(Downcalls.class, "compareWhileHeld",
                MethodType.methodType(int.class, MemorySegment.class, MemorySegment.class));
        WHILE_HELD.set(action);
        FAILED_WHILE_HELD.remove();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment comparator = linker.upcallStub(compare,
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), arena);
            qsort.invokeExact(segment, 2L, segment.byteSize() / 2, comparator);
        } finally {
            WHILE_HELD.remove();
        }
        Throwable failed = FAILED_WHILE_HELD.get();
        FAILED_WHILE_HELD.remove();
        if (failed != null) {
            throw failed;
        }
    }

    /**
     * Holds {@code segment} (at least 2 bytes) in a downcall on a platform thread of its own until
     * {@code release} counts down; returns that thread once the downcall holds the segment (or
     * failed to). Join it after counting down.
     */
    static Thread holdOnAnotherThread(MemorySegment segment, CountDownLatch release) throws InterruptedException {
        CountDownLatch holding = new CountDownLatch(1);
        Thread thread = Thread.ofPlatform().start(() -> {
            try {
                whileHeldByADowncall(segment, () -> {
                    holding.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                });
            } catch (Throwable t) {
                throw new AssertionError(t);
            } finally {
                holding.countDown();
            }
        });
        holding.await();
        return thread;
    }

    /** An exception must not leave an upcall (the JVM would end): it is kept for the caller to throw. */
    private static int compareWhileHeld(MemorySegment a, MemorySegment b) {
        Runnable action = WHILE_HELD.get();
        WHILE_HELD.remove();
        if (action != null) {
            try {
                action.run();
            } catch (Throwable t) {
                FAILED_WHILE_HELD.set(t);
            }
        }
        return 0;
    }
}
