package org.malloc4j.bench;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the synchronization a malloc+free pair cannot do without costs on this machine, by itself:
 * the floor under malloc4j's pair, against which its other peers' ratios can be read. Each method
 * is the synchronization of one pair, on one thread, uncontended, in the same shapes malloc4j uses
 * (a block's state is a byte of a Java array; a stripe's lock is an {@code int} field):
 * <ul>
 *   <li>{@link #plainClaim}: the state read, marked free with a plain write and marked live again,
 *       as a pair without any atomic would do: the baseline;
 *   <li>{@link #atomicClaim}: the same with the free's mark made by compare-and-set, as a platform
 *       thread's free claims a block of its own page (so that a double free racing on another
 *       thread is caught);
 *   <li>{@link #exchangeClaim}: the free's mark made by one atomic exchange, which returns the state
 *       it replaced: faster in a pair, but not used, since it would take a block from another
 *       thread's tentative mark (core README, "Block states");
 *   <li>{@link #twoStripeLocks}: the plain claim under two takings of a test-and-set lock (one
 *       compare-and-set, released by a release store), as a virtual thread's pair takes its
 *       stripe's lock for the malloc and again for the free.
 * </ul>
 * The difference of each to {@code plainClaim} is what that synchronization costs back to back. It is
 * an upper bound of what it adds to a pair: there the processor overlaps part of it with the pair's
 * other work.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {
        Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
@State(Scope.Thread)
public class SynchronizationFloorBenchmark {
    private static final VarHandle BYTES = MethodHandles.arrayElementVarHandle(byte[].class);
    private static final VarHandle HELD;
    private static final byte FREE = -1;
    private static final byte LIVE = 48;

    static {
        try {
            HELD = MethodHandles.lookup().findVarHandle(SynchronizationFloorBenchmark.class, "held", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** A page's block states; one block is used, as a pair reuses the block it freed. */
    private final byte[] states = new byte[4096];
    private int held;
    private int index = 7;

    {
        states[index] = LIVE;
    }

    @Benchmark
    @Baseline(1)
    public int plainClaim() {
        byte state = states[index];
        if (state != FREE) {
            states[index] = FREE;
        }
        states[index] = LIVE;
        return state;
    }

    @Benchmark
    public int atomicClaim() {
        byte state = states[index];
        if (state != FREE && !BYTES.compareAndSet(states, index, state, FREE)) {
            state = FREE;
        }
        states[index] = LIVE;
        return state;
    }

    @Benchmark
    public int exchangeClaim() {
        byte state = (byte) BYTES.getAndSet(states, index, FREE);
        states[index] = LIVE;
        return state;
    }

    @Benchmark
    public int twoStripeLocks() {
        lock();
        states[index] = LIVE;
        HELD.setRelease(this, 0);
        lock();
        byte state = states[index];
        if (state != FREE) {
            states[index] = FREE;
        }
        HELD.setRelease(this, 0);
        return state;
    }

    private void lock() {
        while (!HELD.compareAndSet(this, 0, 1)) {
            Thread.onSpinWait();
        }
    }
}
