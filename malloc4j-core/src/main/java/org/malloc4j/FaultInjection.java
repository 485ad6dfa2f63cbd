package org.malloc4j;

import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.malloc4j.internal.FaultPolicy;
import org.malloc4j.internal.StackCapture;

/**
 * Makes a heap fail allocations on purpose, so tests can walk a program's out-of-memory paths:
 * the "mock malloc" of C test suites. An injected failure looks like real exhaustion:
 * {@code malloc} throws {@link HeapExhaustedError}, the {@code try*} forms return
 * {@link java.lang.foreign.MemorySegment#NULL}, and a failed {@code realloc} leaves the old block
 * live and unchanged. Set it with {@link Heap.Builder#faultInjection}. Only
 * {@link HeapExhaustedError#injected()} tells it apart, for a test that must.
 *
 * <p>A bump arena's side block and a growable array's growth first ask the heap for more room than
 * the call needs, and for less where the heap lacks the memory. To a policy that counts requests
 * such a call is one request, and a failure injected into it is thrown, naming the size the call
 * needs, not asked again (only where the heap refused the first request for want of memory does
 * the policy see the next one). {@link #afterBytes}, which judges a request by its size, is asked
 * again for the less, as a heap near its limit would be, and counts only a failure the program sees.
 *
 * <p>Every policy counts allocation requests (malloc, calloc, aligned malloc, and realloc to a
 * non-zero size, whether or not the block would move) and is thread-safe. A request for more than
 * {@link Heap#MAX_BLOCK_BYTE_SIZE} bytes, or aligned to more, is not counted: it fails as it always
 * does, saying why it can never succeed, rather than with an injected failure. So an injected failure
 * can fail a realloc that real exhaustion never fails, one that would have resized the block in
 * place, as C's {@code realloc} may fail for any size. {@code free} never fails.
 *
 * <p>The count and the record of injected failures belong to the policy, not to a heap: heaps
 * built with the same {@code FaultInjection} share them, so {@code everyNth(2)} given to two heaps
 * fails every second request of the two together. Give each heap its own policy to count each
 * heap's requests apart (the JUnit extension makes a fresh one for each test).
 */
public final class FaultInjection {
    private final FaultPolicy policy;
    private final String description;
    private final AtomicLong injected = new AtomicLong();

    private FaultInjection(FaultPolicy policy, String description) {
        this.policy = policy;
        this.description = description;
    }

    /**
     * Fails each request with probability {@code probability}, drawn from a generator seeded with
     * {@code seed}, so a run repeats exactly when its requests come in the same order.
     *
     * @param probability from 0 (never) to 1 (always); {@code -0.0}, being equal to 0, is 0
     * @param seed the generator's seed
     * @return the policy
     * @throws IllegalArgumentException if {@code probability} is not within [0, 1] (NaN included)
     */
    public static FaultInjection withProbability(double probability, long seed) {
        if (!(probability >= 0 && probability <= 1)) {
            throw new IllegalArgumentException("probability must be within [0, 1]: " + probability);
        }
        // Adding +0.0 turns -0.0, which the range check lets through as equal to 0, into 0.0, so the
        // policy never names a negative probability.
        double chance = probability + 0.0;
        SplittableRandom random = new SplittableRandom(seed);
        return new FaultInjection(byteSize -> {
            synchronized (random) {
                return random.nextDouble() < chance;
            }
        }, "probability=" + chance + ", seed=" + seed);
    }

    /**
     * Fails request number {@code n}, {@code 2n}, {@code 3n}, … (counting from 1).
     *
     * @param n the period, 1 or more (1 fails every request)
     * @return the policy
     * @throws IllegalArgumentException if {@code n < 1}
     */
    public static FaultInjection everyNth(long n) {
        requirePositive(n, "n");
        AtomicLong count = new AtomicLong();
        return new FaultInjection(byteSize -> count.incrementAndGet() % n == 0, "everyNth=" + n);
    }

    /**
     * Fails the first {@code n} requests, then none.
     *
     * @param n how many to fail, 0 or more
     * @return the policy
     * @throws IllegalArgumentException if {@code n < 0}
     */
    public static FaultInjection firstN(long n) {
        if (n < 0) {
            throw new IllegalArgumentException("n must not be negative: " + n);
        }
        AtomicLong count = new AtomicLong();
        return new FaultInjection(byteSize -> count.incrementAndGet() <= n, "firstN=" + n);
    }

    /**
     * Fails every request once the bytes requested so far (by requests that succeeded) would pass
     * {@code byteBudget}: a heap that runs dry at a chosen point. A request that fails, whether
     * injected or refused for real (a heap's {@link Heap.Builder#maxCommittedBytes limit}, the
     * operating system), spends nothing; freeing a block gives nothing back.
     *
     * <p>Threads sharing the policy never take more than the budget between them: a request's bytes
     * are set aside while it is under way and given back if it fails. So, near the end of the
     * budget, a request may be failed for bytes that another thread's request, failing at the same
     * moment, is about to give back.
     *
     * @param byteBudget bytes that may be requested in total by requests that succeed, 0 or more
     * @return the policy
     * @throws IllegalArgumentException if {@code byteBudget < 0}
     */
    public static FaultInjection afterBytes(long byteBudget) {
        if (byteBudget < 0) {
            throw new IllegalArgumentException("byteBudget must not be negative: " + byteBudget);
        }
        AtomicLong spent = new AtomicLong();
        return new FaultInjection(new FaultPolicy() {
            @Override
            public boolean shouldFail(long byteSize) {
                // Taken before the request runs, not after it succeeds: threads checking at once
                // could otherwise all fit and together pass the budget.
                long before;
                do {
                    before = spent.get();
                    if (byteSize > byteBudget - before) {
                        return true;
                    }
                } while (!spent.compareAndSet(before, before + byteSize));
                return false;
            }

            @Override
            public void failedAnyway(long byteSize) {
                spent.addAndGet(-byteSize);
            }

            @Override
            public boolean judgesBySize() {
                return true;
            }
        }, "afterBytes=" + byteBudget);
    }

    /**
     * Fails the first request from each distinct call site (the program's frame that called
     * malloc4j: class, method and line; the first outside malloc4j and the JDK, so that two
     * {@code forEach(heap::malloc)} lines are two sites), and lets later requests from that site
     * succeed. Running a program again and again under this policy walks each of its allocation
     * failure paths once. A request from a thread with no frame of the program's (a parallel
     * stream's worker) has the first frame outside malloc4j for its site, a JDK line that every
     * such request through it shares.
     *
     * @return the policy
     */
    public static FaultInjection eachCallSiteOnce() {
        ConcurrentHashMap<StackTraceElement, Boolean> seen = new ConcurrentHashMap<>();
        return new FaultInjection(byteSize -> {
            StackTraceElement site = StackCapture.callSite();
            return site != null && seen.putIfAbsent(site, Boolean.TRUE) == null;
        }, "eachCallSiteOnce");
    }

    /** @return how many failures this policy has injected so far */
    public long injectedFailures() {
        return injected.get();
    }

    /** The policy as the heap sees it: counts what it injects. */
    FaultPolicy policy() {
        return new FaultPolicy() {
            @Override
            public boolean shouldFail(long byteSize) {
                boolean fail = policy.shouldFail(byteSize);
                if (fail) {
                    injected.incrementAndGet();
                }
                return fail;
            }

            @Override
            public void failedAnyway(long byteSize) {
                policy.failedAnyway(byteSize);
            }

            @Override
            public boolean judgesBySize() {
                return policy.judgesBySize();
            }

            @Override
            public void unseen() {
                injected.decrementAndGet();
            }
        };
    }

    @Override
    public String toString() {
        return "FaultInjection[" + description + ", injected=" + injected.get() + "]";
    }

    private static void requirePositive(long value, String name) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1: " + value);
        }
    }

    static FaultInjection requireNonNull(FaultInjection faults) {
        return Objects.requireNonNull(faults, "faultInjection");
    }
}
