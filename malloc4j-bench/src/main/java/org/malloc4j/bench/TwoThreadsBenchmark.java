package org.malloc4j.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Two threads, each doing independent malloc+free pairs on the same allocator at once: whether the
 * allocator's fast path scales (per-thread heaps and caches) or contends on shared state. The score
 * is ns per pair as each thread sees it (JMH averages the two threads); a perfectly scaling allocator
 * scores as in {@link PairBenchmark}, given two free cores. The peers are {@link PairPeers}'; each
 * thread has its own copy of the request sizes.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {Jvm.NATIVE_ACCESS,
        Jvm.HEAP_MIN, Jvm.HEAP_MAX, Jvm.HEAP_PRE_TOUCH})
@Threads(2)
public class TwoThreadsBenchmark extends PairPeers {
    @Param({"64", "mixed"})
    public String size;

    @Override
    protected String sizeSpec() {
        return size;
    }
}
