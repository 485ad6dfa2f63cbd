package org.malloc4j.bench;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.malloc4j.Heap;
import org.malloc4j.HeapStats;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Measures whether malloc4j gives memory back to the operating system, and what its bookkeeping
 * costs, with {@link Heap#stats()} and the kernel's own numbers. Not a JMH benchmark: each part is a
 * scenario with counters to read, not a rate.
 *
 * <ol>
 *   <li><b>return</b>: on a fresh heap with default settings, 1 GiB of live blocks of one of three
 *       shapes (every 4 KiB page of every block written), then every block freed in random order;
 *       committed bytes are polled every 10 ms, without {@code trim()}, and the time until they fall
 *       to 1 % of the peak is reported with the curve. The mixed shape runs on
 *       {@link Heap#global()} too, and on 4 platform threads that each allocate and free a quarter
 *       and then stay alive, idle (then end: committed bytes a second later).
 *   <li><b>loop</b>: 100,000 iterations of malloc, write, free of one size (64 KiB, 1 MiB, 4 MiB,
 *       32 MiB), each size on a fresh heap; {@code mmap}, {@code munmap} and {@code madvise} calls
 *       per iteration. Then bursts: 64 blocks of 1 MiB allocated, written and freed, 20 rounds;
 *       OS calls and purged bytes per round. Then two large buffers in turn (15 MiB, then 3 MiB,
 *       each written and freed before the other), 50 rounds: purged bytes and time per round.
 *       Then making room: 200 blocks of 300,000 B allocated right after 1 GiB of small blocks was
 *       freed in random order, on a heap whose 60 s purge delay keeps those pages waiting:
 *       {@code madvise} calls and bytes purged to find slices for them. Then a fragmented peak:
 *       512 MiB of small blocks with every seventh kept, then 200 blocks of 300,000 B: the
 *       scavenges that guard the peak, their calls and the worst malloc's time.
 *   <li><b>touch</b>: the kernel's cost of a fresh 4 KiB page on this machine ({@link FirstTouch}).
 *   <li><b>vthreads</b>: {@code metadataBytes} of a fresh heap after 1,000, 10,000 and 100,000
 *       virtual threads each allocate and free a few blocks; the same 100,000 tasks on a pool of
 *       {@code availableProcessors()} platform threads; and 100,000 virtual threads in child JVMs
 *       with 1, 2 and 8 carrier threads, and with 8 processors.
 *   <li><b>threads</b>: platform threads coming and going ({@link ThreadTurnover}): the peak committed
 *       bytes over rounds of short-lived threads, and the time to grow a heap while 4,000 other
 *       threads each hold a block of it, against one.
 * </ol>
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp malloc4j-bench/target/benchmarks.jar \
 *      org.malloc4j.bench.MemoryReturn [--json FILE] [--only return,loop,touch,vthreads,threads]
 * </pre>
 *
 * It takes about 40 s (plus about 10 s for the child JVMs' start) and needs about 1.2 GiB of free
 * memory. Counts (OS calls, bytes) are exact; times depend on the machine and its load.
 */
public final class MemoryReturn {
    static final long KIB = 1024;
    static final long MIB = 1024 * KIB;
    static final long GIB = 1024 * MIB;
    /** Bytes requested in the return scenario. */
    static final long TOTAL = GIB;
    /** Committed bytes may stay at most this fraction of the peak: 1 %. */
    static final int RETURN_DIVISOR = 100;
    /** The time within which they must get there, with the default purge delay. */
    static final long RETURN_TARGET_MS = 1000;
    static final long POLL_MS = 10;
    static final long[] CHECKPOINTS_MS = {0, 100, 250, 500, 1000, 2000};
    static final long GIVE_UP_MS = 5000;
    /** Platform threads of the threaded return scenario, each with a quarter of the bytes. */
    static final int RETURN_THREADS = 4;
    /** The block the threads of the busy run go on allocating and freeing after their frees. */
    static final long BUSY_SIZE = 100;
    static final long BUSY_PAUSE_NANOS = 100_000;
    /** How long after its threads end the threaded scenario looks at committed bytes again. */
    static final long ENDED_WAIT_MS = 1000;
    static final int LOOP_ITERATIONS = 100_000;
    static final int LOOP_WARMUP = 1_000;
    static final long LOOP_BUDGET_NANOS = 5_000_000_000L;
    static final long[] LOOP_SIZES = {64 * KIB, MIB, 4 * MIB, 32 * MIB};
    /** The making-room run: retired small pages waiting, then blocks of a size no retired page fits. */
    static final long ROOM_WAITING_BYTES = GIB;
    static final long ROOM_BLOCK_BYTES = 300_000;
    static final int ROOM_BLOCKS = 200;
    /** The fragmented-peak run: small blocks allocated, one in this many kept. */
    static final long FRAGMENTED_BYTES = 512 * MIB;
    static final int FRAGMENTED_KEEP_EVERY = 7;
    static final int BURST_BLOCKS = 64;
    static final int BURST_ROUNDS = 20;
    static final int VIRTUAL_TASKS = 100_000;
    static final String CHILD = "--vthreads-child";
    /**
     * The metadata of one platform thread's heap as malloc4j estimates it (ThreadHeap: three arrays
     * of 48 size classes and 2 x 48 page lists), for scale: what a heap per virtual thread would cost.
     */
    static final long THREAD_HEAP_BYTES = 64 + 3 * (16 + 4 * 48) + 48 * 2 * 32;
    static final List<String> SECTIONS = List.of("return", "loop", "touch", "vthreads", "threads");

    private final Map<String, Object> results = new LinkedHashMap<>();
    private final List<String> verdicts = new ArrayList<>();

    private MemoryReturn() {
    }

    /** The command line, parsed by picocli; {@link #call} runs what it asks for. */
    @Command(name = "memory-return", sortOptions = false,
            usageHelpWidth = 100, description = {
                "Measures memory returned to the OS after frees, OS calls of alloc/free loops, the cost"
                        + " of a fresh 4 KiB page, heap metadata under virtual threads, and what platform"
                        + " threads coming and going cost. About 45 s.",
                "(Also: java --enable-native-access=ALL-UNNAMED -cp benchmarks.jar"
                        + " org.malloc4j.bench.MemoryReturn ...)"})
    static final class Options extends ToolCommand {
        @Option(names = "--json", paramLabel = "FILE", description = "Also write the results to FILE as JSON.")
        Path json;

        /**
         * Each value as given, split here rather than by picocli: its split drops empty names (',' would
         * name no section and run nothing), and a message about a value needs the value.
         */
        @Option(names = "--only", paramLabel = "SECTION[,SECTION...]",
                description = "Run only these sections, of: return, loop, touch, vthreads, threads (default: all).")
        List<String> only;

        /** The child JVM's side of the virtual-threads section: its task count. */
        @Option(names = CHILD, hidden = true)
        Integer childTasks;

        @Override
        public Integer call() throws Exception {
            if (childTasks != null) {
                childMain(childTasks);
                return 0;
            }
            List<String> sections = only == null ? SECTIONS : sections(only);
            String unwritable = json == null ? null : unwritable(json);
            if (unwritable != null) {
                throw refused(unwritable);
            }
            new MemoryReturn().run(sections, json);
            return 0;
        }

        /**
         * @param values the values of {@code --only}, each a comma-separated list of sections
         * @return the sections they name, in their order
         */
        private List<String> sections(List<String> values) {
            List<String> sections = new ArrayList<>();
            for (String value : values) {
                String[] names = value.split(",", -1);
                if (Arrays.stream(names).allMatch(String::isEmpty)) {
                    throw refused("--only '" + value + "' names no section: give one or more of "
                            + String.join(", ", SECTIONS));
                }
                // Before any name is looked up: a stray comma is the likelier slip, and it is the value's.
                if (Arrays.asList(names).contains("")) {
                    throw refused("--only '" + value + "' has an empty section name: separate the sections"
                            + " with one comma, and leave none at either end");
                }
                for (String name : names) {
                    if (!SECTIONS.contains(name)) {
                        throw refused("unknown section '" + name + "': the sections are "
                                + String.join(", ", SECTIONS));
                    }
                    sections.add(name);
                }
            }
            return sections;
        }
    }

    public static void main(String[] args) {
        ToolCommandLine.exit(new Options(), args);
    }

    /**
     * Tried before the measurements, not after them, so that a path that cannot take the report stops
     * the run at once.
     *
     * @return why {@code json} cannot take the report, or null if it can
     */
    private static String unwritable(Path json) {
        try {
            // Opened to append, so an existing report stays as it is until the new one replaces it.
            Files.newOutputStream(json, StandardOpenOption.CREATE, StandardOpenOption.APPEND).close();
            return null;
        } catch (IOException | RuntimeException e) {
            return "--json " + json + " cannot be written: " + reason(e);
        }
    }

    private static String reason(Exception e) {
        return e instanceof NoSuchFileException ? "no such folder"
                : e instanceof AccessDeniedException ? "permission denied"
                : e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private void run(List<String> sections, Path json) throws Exception {
        long start = System.nanoTime();
        Runtime runtime = Runtime.getRuntime();
        String load = loadAverage();
        System.out.printf("malloc4j MemoryReturn: JDK %s, %d processors, %s %s, max Java heap %s, load average %s%n",
                Runtime.version(), runtime.availableProcessors(), System.getProperty("os.name"),
                System.getProperty("os.arch"), mib(runtime.maxMemory()), load);
        System.out.println("Counts (OS calls, bytes) are exact; times depend on the machine and its load.");
        results.put("jdk", Runtime.version().toString());
        results.put("processors", runtime.availableProcessors());
        results.put("loadAverage", load);
        if (sections.contains("return")) {
            memoryReturned();
        }
        if (sections.contains("loop")) {
            loops();
        }
        if (sections.contains("touch")) {
            firstTouch();
        }
        if (sections.contains("vthreads")) {
            virtualThreads();
        }
        if (sections.contains("threads")) {
            threadTurnover();
        }
        System.out.printf("%n== Targets%n");
        verdicts.forEach(line -> System.out.println("  " + line));
        results.put("verdicts", verdicts);
        double seconds = (System.nanoTime() - start) / 1e9;
        results.put("seconds", seconds);
        System.out.printf("%nMemoryReturn took %.1f s%n", seconds);
        if (json != null) {
            try {
                Files.writeString(json, Json.write(results) + "\n", StandardCharsets.UTF_8);
            } catch (IOException e) {
                System.err.println("MemoryReturn: the JSON report could not be written to " + json + ": " + reason(e));
                System.exit(1);
            }
            System.out.println("JSON written to " + json);
        }
    }

    // ---- 1. memory returned after 1 GiB is freed ----

    /** A distribution of block sizes. */
    private record Shape(String name, String description, SizeSource sizes) {
    }

    private interface SizeSource {
        long next(SplittableRandom random);
    }

    private static final Shape SMALL = new Shape("small", "uniform 16-4096 B",
            random -> random.nextLong(16, 4097));
    private static final Shape MIXED = new Shape("mixed",
            "by count 90 % uniform 16-4096 B, 9 % 4-128 KiB, 1 % 128 KiB-2 MiB",
            random -> {
                int tier = random.nextInt(100);
                if (tier < 90) {
                    return random.nextLong(16, 4097);
                }
                return tier < 99 ? random.nextLong(4 * KIB + 1, 128 * KIB + 1)
                        : random.nextLong(128 * KIB + 1, 2 * MIB + 1);
            });
    private static final Shape ONE_MIB = new Shape("1MiB", "every block 1 MiB", random -> MIB);

    private void memoryReturned() throws InterruptedException {
        System.out.printf("%n== 1. Memory returned: %s of live blocks allocated, every 4 KiB page written, all freed"
                + " in random order;%n   committed polled every %d ms, no trim(). Target: committed <= 1 %% of"
                + " the peak within %d ms.%n", mib(TOTAL), POLL_MS, RETURN_TARGET_MS);
        System.out.println("   RssAnon is the JVM's anonymous resident memory from /proc/self/status, as a change"
                + " from before the run (the Java heap is in it too).");
        List<Object> runs = new ArrayList<>();
        for (Shape shape : List.of(SMALL, MIXED, ONE_MIB)) {
            try (Heap heap = Heap.builder().name("return-" + shape.name()).build()) {
                runs.add(returnRun("fresh heap, defaults", heap, shape, 1, false, false));
            }
        }
        runs.add(returnRun("Heap.global()", Heap.global(), MIXED, 1, false, false));
        try (Heap heap = Heap.builder().name("return-threads").build()) {
            runs.add(returnRun("fresh heap, defaults", heap, MIXED, RETURN_THREADS, false, false));
        }
        try (Heap heap = Heap.builder().name("return-cross").build()) {
            runs.add(returnRun("fresh heap, defaults", heap, MIXED, RETURN_THREADS, true, false));
        }
        try (Heap heap = Heap.builder().name("return-cross-busy").build()) {
            runs.add(returnRun("fresh heap, defaults", heap, MIXED, RETURN_THREADS, true, true));
        }
        results.put("memoryReturned", runs);
    }

    /** One thread's share of the blocks. */
    private static final class Share {
        final List<MemorySegment> blocks = new ArrayList<>();
        final long[] tierBytes = new long[3];
        long requested;

        /** Allocates blocks of {@code shape} until {@code total} bytes, writing every 4 KiB page. */
        void allocate(Heap heap, Shape shape, SplittableRandom random, long total) {
            while (requested < total) {
                long size = Math.min(shape.sizes().next(random), total - requested);
                MemorySegment block = heap.malloc(size);
                for (long offset = 0; offset < size; offset += FirstTouch.OS_PAGE) {
                    block.set(JAVA_BYTE, offset, (byte) 1);
                }
                block.set(JAVA_BYTE, size - 1, (byte) 1);
                blocks.add(block);
                requested += size;
                tierBytes[size <= 4 * KIB ? 0 : size <= 128 * KIB ? 1 : 2] += size;
            }
        }

        /** Frees every block, in random order. */
        void free(Heap heap, SplittableRandom random) {
            for (int index : shuffled(blocks.size(), random)) {
                heap.free(blocks.get(index));
            }
        }
    }

    /**
     * @param threads 1: the calling thread allocates and frees everything; more: that many platform
     *     threads each allocate and free their share, then stay alive, idle, until the curve is done
     * @param crossFree with more threads: each frees the share the next thread allocated (a producer
     *     and its consumer), so every block goes back into pages of a thread that stays alive, idle
     * @param busy with more threads: after their frees, each thread goes on allocating and freeing
     *     one block of {@value #BUSY_SIZE} B every {@value #BUSY_PAUSE_NANOS} ns, instead of waiting
     *     idle: an owner that allocates, but no longer in most of the size classes others freed into
     *     its pages
     */
    private Map<String, Object> returnRun(String heapLabel, Heap heap, Shape shape, int threads, boolean crossFree,
            boolean busy) throws InterruptedException {
        HeapStats start = heap.stats();
        long rssStart = rssAnonBytes();
        Share[] shares = new Share[threads];
        Arrays.setAll(shares, i -> new Share());
        CountDownLatch allocated = new CountDownLatch(threads);
        CountDownLatch freeNow = new CountDownLatch(1);
        CountDownLatch freed = new CountDownLatch(threads);
        CountDownLatch endNow = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        long t0 = System.nanoTime();
        if (threads == 1) {
            shares[0].allocate(heap, shape, new SplittableRandom(42), TOTAL);
        } else {
            for (int i = 0; i < threads; i++) {
                Share share = shares[i];
                Share toFree = shares[crossFree ? (i + 1) % threads : i];
                long seed = 42 + i;
                workers.add(Thread.ofPlatform().name("return-worker-" + i).start(() -> {
                    share.allocate(heap, shape, new SplittableRandom(seed), TOTAL / threads);
                    allocated.countDown();
                    awaitQuietly(freeNow);
                    toFree.free(heap, new SplittableRandom(seed + 1000));
                    toFree.blocks.clear();
                    freed.countDown();
                    if (busy) {
                        // About 10,000 a second: allocating throughout, yet leaving the 2 cores' time
                        // to the purger, as a thread doing other work between its mallocs would.
                        while (endNow.getCount() > 0) {
                            heap.free(heap.malloc(BUSY_SIZE));
                            LockSupport.parkNanos(BUSY_PAUSE_NANOS);
                        }
                    }
                    awaitQuietly(endNow);
                }));
            }
            allocated.await();
        }
        long allocNanos = System.nanoTime() - t0;
        HeapStats atPeak = heap.stats();
        long rssPeak = rssAnonBytes();
        long peak = atPeak.committedBytes() - start.committedBytes();
        long target = peak / RETURN_DIVISOR;
        long requested = 0;
        long[] tierBytes = new long[3];
        int blockCount = 0;
        for (Share share : shares) {
            requested += share.requested;
            blockCount += share.blocks.size();
            for (int t = 0; t < 3; t++) {
                tierBytes[t] += share.tierBytes[t];
            }
        }

        t0 = System.nanoTime();
        if (threads == 1) {
            shares[0].free(heap, new SplittableRandom(7));
            shares[0].blocks.clear();
        } else {
            freeNow.countDown();
            freed.await();
        }
        long freeNanos = System.nanoTime() - t0;
        HeapStats afterFree = heap.stats();

        if (threads > 1) {
            heapLabel += ", " + threads + " platform threads " + (crossFree ? "each freeing the next one's blocks"
                    : "each freeing its own") + (busy ? " (alive, each allocating and freeing a " + BUSY_SIZE
                    + " B block every " + BUSY_PAUSE_NANOS / 1000 + " us after their frees)"
                    : " (idle, alive, after their frees)");
        }
        System.out.printf("%n-- %s on %s: %,d blocks, %s requested (by bytes: %.0f %% <= 4 KiB, %.0f %% <= 128 KiB,"
                        + " %.0f %% larger)%n", shape.name() + " (" + shape.description() + ")", heapLabel,
                blockCount, mib(requested), 100.0 * tierBytes[0] / requested, 100.0 * tierBytes[1] / requested,
                100.0 * tierBytes[2] / requested);
        System.out.printf("   allocate+write %,d ms, free %,d ms%n", allocNanos / 1_000_000, freeNanos / 1_000_000);
        System.out.printf("   at the peak: committed %s, reserved %s, metadata %s, RssAnon %+,.1f MiB;"
                        + " mmap %,d, munmap %,d, madvise %,d so far%n", mib(peak), mib(atPeak.reservedBytes()),
                mib(atPeak.metadataBytes()), (rssPeak - rssStart) / (double) MIB,
                atPeak.mmapCalls() - start.mmapCalls(), atPeak.munmapCalls() - start.munmapCalls(),
                atPeak.madviseCalls() - start.madviseCalls());
        System.out.printf("   during the frees: %,d madvise calls, %s purged (before any delay passed)%n",
                afterFree.madviseCalls() - atPeak.madviseCalls(), mib(afterFree.purgedBytes() - atPeak.purgedBytes()));
        System.out.printf("   %8s %12s %8s %12s %9s %8s %12s %10s%n", "t (ms)", "committed", "% peak", "RssAnon",
                "madvise", "munmap", "purged", "metadata");

        List<Object> curve = new ArrayList<>();
        long origin = System.nanoTime();
        double reachedMs = -1;
        int next = 0;
        HeapStats last;
        while (true) {
            double ms = (System.nanoTime() - origin) / 1e6;
            last = heap.stats();
            long rss = rssAnonBytes();
            long committed = last.committedBytes() - start.committedBytes();
            if (reachedMs < 0 && committed <= target) {
                reachedMs = ms;
            }
            while (next < CHECKPOINTS_MS.length && ms >= CHECKPOINTS_MS[next]) {
                Map<String, Object> point = new LinkedHashMap<>();
                point.put("ms", CHECKPOINTS_MS[next]);
                point.put("sampledAtMs", round1(ms));
                point.put("committedBytes", committed);
                point.put("percentOfPeak", round2(100.0 * committed / peak));
                point.put("rssAnonDeltaBytes", rss - rssStart);
                point.put("madviseCalls", last.madviseCalls() - atPeak.madviseCalls());
                point.put("munmapCalls", last.munmapCalls() - atPeak.munmapCalls());
                point.put("purgedBytes", last.purgedBytes() - atPeak.purgedBytes());
                point.put("metadataBytes", last.metadataBytes());
                curve.add(point);
                System.out.printf("   %8d %12s %7.2f%% %+10.1f M %,9d %,8d %12s %10s%n", CHECKPOINTS_MS[next],
                        mib(committed), 100.0 * committed / peak, (rss - rssStart) / (double) MIB,
                        last.madviseCalls() - atPeak.madviseCalls(), last.munmapCalls() - atPeak.munmapCalls(),
                        mib(last.purgedBytes() - atPeak.purgedBytes()), kib(last.metadataBytes()));
                next++;
            }
            if (next == CHECKPOINTS_MS.length && (reachedMs >= 0 || ms >= GIVE_UP_MS)) {
                break;
            }
            Thread.sleep(POLL_MS);
        }
        long left = last.committedBytes() - start.committedBytes();
        long afterEnd = -1;
        if (threads > 1) {
            endNow.countDown();
            for (Thread worker : workers) {
                worker.join();
            }
            Thread.sleep(ENDED_WAIT_MS);
            afterEnd = heap.stats().committedBytes() - start.committedBytes();
            System.out.printf("   the threads ended; %d ms later, still no trim(): committed %s%n", ENDED_WAIT_MS,
                    mib(afterEnd));
        }
        heap.trim();
        HeapStats trimmed = heap.stats();
        long afterTrim = trimmed.committedBytes() - start.committedBytes();
        boolean holds = reachedMs >= 0 && reachedMs <= RETURN_TARGET_MS;
        String reached = reachedMs >= 0 ? String.format("after %.0f ms", reachedMs)
                : "not within " + GIVE_UP_MS + " ms";
        System.out.printf("   committed <= 1 %% of the peak (%s) %s: %s%n", mib(target), reached,
                holds ? "target holds" : "target MISSED");
        System.out.printf("   left committed without trim(): %s; after trim(): %s (%s only trim() returns)%n",
                mib(left), mib(afterTrim), mib(left - afterTrim));
        verdicts.add(String.format("%-4s memory returned, %s on %s: <= 1 %% of peak %s (target <= %d ms);"
                        + " %s purged during the frees themselves", holds ? "OK" : "MISS", shape.name(), heapLabel,
                reached, RETURN_TARGET_MS, mib(afterFree.purgedBytes() - atPeak.purgedBytes())));

        Map<String, Object> run = new LinkedHashMap<>();
        run.put("shape", shape.name());
        run.put("sizes", shape.description());
        run.put("heap", heapLabel);
        run.put("blocks", blockCount);
        run.put("requestedBytes", requested);
        run.put("bytesShareSmallMediumLarge", List.of(round2(100.0 * tierBytes[0] / requested),
                round2(100.0 * tierBytes[1] / requested), round2(100.0 * tierBytes[2] / requested)));
        run.put("allocateAndWriteMs", allocNanos / 1_000_000);
        run.put("freeMs", freeNanos / 1_000_000);
        run.put("peakCommittedBytes", peak);
        run.put("peakReservedBytes", atPeak.reservedBytes());
        run.put("metadataBytesAtPeak", atPeak.metadataBytes());
        run.put("rssAnonDeltaAtPeakBytes", rssPeak - rssStart);
        run.put("mmapCallsToPeak", atPeak.mmapCalls() - start.mmapCalls());
        run.put("munmapCallsToPeak", atPeak.munmapCalls() - start.munmapCalls());
        run.put("madviseCallsToPeak", atPeak.madviseCalls() - start.madviseCalls());
        run.put("madviseCallsDuringFrees", afterFree.madviseCalls() - atPeak.madviseCalls());
        run.put("purgedBytesDuringFrees", afterFree.purgedBytes() - atPeak.purgedBytes());
        run.put("curve", curve);
        run.put("targetBytes", target);
        run.put("msToOnePercent", reachedMs >= 0 ? round1(reachedMs) : null);
        run.put("targetHolds", holds);
        run.put("threads", threads);
        run.put("blocksFreedByAnotherThread", crossFree);
        run.put("committedLeftWithoutTrimBytes", left);
        if (afterEnd >= 0) {
            run.put("committedAfterThreadsEndedBytes", afterEnd);
        }
        run.put("committedAfterTrimBytes", afterTrim);
        return run;
    }

    // ---- 2. OS calls of alloc/free loops ----

    private void loops() {
        System.out.printf("%n== 2. Alloc/free loops: malloc(size), write its first and last byte, free;"
                + " %,d iterations (at most %d s) per size,%n   each size on a fresh heap with defaults, after %,d"
                + " warm-up iterations. Target for 1 MiB: ~0 OS calls per iteration.%n",
                LOOP_ITERATIONS, LOOP_BUDGET_NANOS / 1_000_000_000L, LOOP_WARMUP);
        System.out.printf("   %9s %11s %9s %10s %10s %10s %12s%n", "size", "iterations", "ns/iter", "mmap/iter",
                "munmap/it", "madvise/it", "OS calls/it");
        List<Object> rows = new ArrayList<>();
        for (long size : LOOP_SIZES) {
            try (Heap heap = Heap.builder().name("loop-" + size).build()) {
                for (int i = 0; i < LOOP_WARMUP; i++) {
                    iterate(heap, size, i);
                }
                HeapStats before = heap.stats();
                long t0 = System.nanoTime();
                int done = 0;
                while (done < LOOP_ITERATIONS) {
                    iterate(heap, size, done);
                    done++;
                    if ((done & 255) == 0 && System.nanoTime() - t0 > LOOP_BUDGET_NANOS) {
                        break;
                    }
                }
                long nanos = System.nanoTime() - t0;
                HeapStats after = heap.stats();
                double mmap = (double) (after.mmapCalls() - before.mmapCalls()) / done;
                double munmap = (double) (after.munmapCalls() - before.munmapCalls()) / done;
                double madvise = (double) (after.madviseCalls() - before.madviseCalls()) / done;
                double calls = (double) (after.osCalls() - before.osCalls()) / done;
                System.out.printf("   %9s %,11d %,9.0f %10.4f %10.4f %10.4f %12.4f%n", size(size), done,
                        (double) nanos / done, mmap, munmap, madvise, calls);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("bytes", size);
                row.put("iterations", done);
                row.put("nsPerIteration", round1((double) nanos / done));
                row.put("mmapPerIteration", mmap);
                row.put("munmapPerIteration", munmap);
                row.put("madvisePerIteration", madvise);
                row.put("osCallsPerIteration", calls);
                rows.add(row);
                if (size == MIB) {
                    boolean holds = calls < 0.001;
                    verdicts.add(String.format("%-4s 1 MiB alloc/free loop: %.4f OS calls per iteration over %,d"
                            + " iterations (target ~0)", holds ? "OK" : "MISS", calls, done));
                } else if (calls >= 0.5) {
                    verdicts.add(String.format("NOTE %s alloc/free loop: %.2f OS calls per iteration"
                            + " (mmap %.2f, munmap %.2f, madvise %.2f)", size(size), calls, mmap, munmap, madvise));
                }
            }
        }
        results.put("loops", rows);
        bursts();
        alternating();
        doubling();
        makingRoom();
        fragmentedPeak();
    }

    /** @return blocks of the {@code small} shape, {@code total} bytes of them, each touched once */
    private static List<MemorySegment> smallBlocks(Heap heap, long total, SplittableRandom random) {
        List<MemorySegment> blocks = new ArrayList<>();
        for (long bytes = 0; bytes < total; ) {
            MemorySegment block = heap.malloc(SMALL.sizes().next(random));
            block.set(JAVA_BYTE, 0, (byte) 1);
            blocks.add(block);
            bytes += block.byteSize();
        }
        return blocks;
    }

    /**
     * New data at the peak of a heap whose pages are mostly free between live blocks: the scavenges
     * that guard the peak, and how long the worst malloc waits for them. Reported, no target.
     */
    private void fragmentedPeak() {
        try (Heap heap = Heap.builder().name("fragmented").build()) {
            SplittableRandom random = new SplittableRandom(13);
            List<MemorySegment> all = smallBlocks(heap, FRAGMENTED_BYTES, random);
            List<MemorySegment> kept = new ArrayList<>();
            for (int i = 0; i < all.size(); i++) {
                if (i % FRAGMENTED_KEEP_EVERY == 0) {
                    kept.add(all.get(i));
                } else {
                    heap.free(all.get(i));
                }
            }
            all.clear();
            HeapStats before = heap.stats();
            long worst = 0;
            long[] addresses = new long[ROOM_BLOCKS];
            long t0 = System.nanoTime();
            for (int i = 0; i < addresses.length; i++) {
                long start = System.nanoTime();
                addresses[i] = heap.mallocAddress(ROOM_BLOCK_BYTES);
                worst = Math.max(worst, System.nanoTime() - start);
            }
            long nanos = System.nanoTime() - t0;
            HeapStats after = heap.stats();
            long madvise = after.madviseCalls() - before.madviseCalls();
            System.out.printf("%n   Fragmented peak: %s of %s blocks, every %dth kept, then %d blocks of %,d B:%n"
                            + "   %.1f ms (worst malloc %.1f ms), madvise %,d, committed %s -> %s%n",
                    mib(FRAGMENTED_BYTES), SMALL.name(), FRAGMENTED_KEEP_EVERY, ROOM_BLOCKS, ROOM_BLOCK_BYTES,
                    nanos / 1e6, worst / 1e6, madvise, mib(before.committedBytes()), mib(after.committedBytes()));
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("fragmentedBytes", FRAGMENTED_BYTES);
            row.put("keepEvery", FRAGMENTED_KEEP_EVERY);
            row.put("blocks", ROOM_BLOCKS);
            row.put("blockBytes", ROOM_BLOCK_BYTES);
            row.put("ms", round1(nanos / 1e6));
            row.put("worstMallocMs", round1(worst / 1e6));
            row.put("madvise", madvise);
            row.put("committedBefore", before.committedBytes());
            row.put("committedAfter", after.committedBytes());
            results.put("fragmentedPeak", row);
            verdicts.add(String.format("INFO new data at a fragmented peak: %,d madvise, worst malloc %.1f ms,"
                    + " committed %s -> %s", madvise, worst / 1e6, mib(before.committedBytes()),
                    mib(after.committedBytes())));
            for (long address : addresses) {
                heap.freeAddress(address);
            }
            kept.forEach(heap::free);
        }
    }

    /**
     * Blocks that need fresh slices while retired pages wait out the purge delay and fill every
     * region: the OS calls and bytes purged to make room for them. Reported, no target.
     */
    private void makingRoom() {
        int blocks = ROOM_BLOCKS;
        // A delay long enough that the purger stays out of the measurement: the pages wait, as a
        // backlog does while the purger works through older ones.
        try (Heap heap = Heap.builder().name("room").purgeDelay(Duration.ofSeconds(60)).build()) {
            SplittableRandom random = new SplittableRandom(11);
            List<MemorySegment> waiting = smallBlocks(heap, ROOM_WAITING_BYTES, random);
            for (int index : shuffled(waiting.size(), random)) {
                heap.free(waiting.get(index));
            }
            waiting.clear();
            HeapStats before = heap.stats();
            long t0 = System.nanoTime();
            long[] addresses = new long[blocks];
            for (int i = 0; i < blocks; i++) {
                addresses[i] = heap.mallocAddress(ROOM_BLOCK_BYTES);
            }
            long nanos = System.nanoTime() - t0;
            HeapStats after = heap.stats();
            long madvise = after.madviseCalls() - before.madviseCalls();
            long purged = after.purgedBytes() - before.purgedBytes();
            long mmap = after.mmapCalls() - before.mmapCalls();
            System.out.printf("%n   Making room: %d blocks of %,d B allocated just after %s of %s blocks were freed"
                            + " in random order (a 60 s purge delay, so they wait):%n   %.1f ms, madvise %,d, mmap %d, purged"
                            + " %s for %s of blocks%n", blocks, ROOM_BLOCK_BYTES, mib(ROOM_WAITING_BYTES),
                    SMALL.name(), nanos / 1e6, madvise, mmap, mib(purged), mib(blocks * ROOM_BLOCK_BYTES));
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("blocks", blocks);
            row.put("blockBytes", ROOM_BLOCK_BYTES);
            row.put("waitingBytes", ROOM_WAITING_BYTES);
            row.put("ms", round1(nanos / 1e6));
            row.put("madvise", madvise);
            row.put("mmap", mmap);
            row.put("purgedBytes", purged);
            results.put("makingRoom", row);
            verdicts.add(String.format("INFO making room for %d x %,d B among %s of retired small pages: %,d madvise,"
                    + " %s purged", blocks, ROOM_BLOCK_BYTES, mib(ROOM_WAITING_BYTES), madvise, mib(purged)));
            for (long address : addresses) {
                heap.freeAddress(address);
            }
        }
    }

    private static void iterate(Heap heap, long size, int i) {
        MemorySegment block = heap.malloc(size);
        block.set(JAVA_BYTE, 0, (byte) i);
        block.set(JAVA_BYTE, size - 1, (byte) i);
        heap.free(block);
    }

    /** Rounds of {@link #BURST_BLOCKS} blocks of 1 MiB live at once, each page written, then all freed. */
    private void bursts() {
        try (Heap heap = Heap.builder().name("bursts").build()) {
            RoundCost cost = RoundCost.of(heap, BURST_ROUNDS, MemoryReturn::burstRound);
            System.out.printf("%n   Bursts: %d x 1 MiB live at once (%s), every page written, then all freed; %d rounds"
                            + " back to back:%n   per round %.1f ms, mmap %.1f, munmap %.1f, madvise %.1f,"
                            + " purged %s of %s (faulted in again next round)%n", BURST_BLOCKS,
                    mib(BURST_BLOCKS * MIB), BURST_ROUNDS, cost.ms(), cost.mmap(), cost.munmap(), cost.madvise(),
                    mib(cost.purged()), mib(BURST_BLOCKS * MIB));
            Map<String, Object> burst = new LinkedHashMap<>();
            burst.put("blocks", BURST_BLOCKS);
            burst.put("blockBytes", MIB);
            cost.putInto(burst);
            results.put("bursts", burst);
            boolean eager = cost.purged() > (BURST_BLOCKS * MIB) / 10;
            verdicts.add(String.format("%-4s bursts of %d x 1 MiB back to back: %s purged and faulted in again per"
                            + " round (%.1f madvise), within the purge delay", eager ? "MISS" : "OK", BURST_BLOCKS,
                    mib(cost.purged()), cost.madvise()));
        }
    }

    /**
     * Two large buffers of different sizes in turn, each freed before the other is allocated: each
     * commit of one at the peak takes memory from the other's retired span, and what it takes is
     * faulted in again the next round. Reported, no target.
     */
    private void alternating() {
        int rounds = 50;
        long big = 15 * MIB;
        long small = 3 * MIB;
        try (Heap heap = Heap.builder().name("alternating").build()) {
            RoundCost cost = RoundCost.of(heap, rounds, h -> {
                h.free(writeEveryPage(h.malloc(big)));
                h.free(writeEveryPage(h.malloc(small)));
            });
            System.out.printf("%n   Alternating: %s then %s, every page written, each freed before the other; %d rounds"
                            + " back to back:%n   per round %.2f ms, madvise %.1f, purged %s (faulted in again next"
                            + " round); peak committed %s%n", mib(big), mib(small), rounds, cost.ms(), cost.madvise(),
                    mib(cost.purged()), mib(cost.after().peakCommittedBytes()));
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("bigBytes", big);
            row.put("smallBytes", small);
            cost.putInto(row);
            row.put("peakCommittedBytes", cost.after().peakCommittedBytes());
            results.put("alternating", row);
            verdicts.add(String.format("INFO %s and %s buffers in turn: %s purged and faulted in again per round"
                    + " (%.1f madvise), %.2f ms per round", mib(big), mib(small), mib(cost.purged()), cost.madvise(),
                    cost.ms()));
        }
    }

    /**
     * A buffer grown by {@code realloc} from 1 MiB to 512 MiB by doubling, every new byte written,
     * then freed: how many of its steps copy it to a new place, and what a round costs. Reported,
     * no target.
     */
    private void doubling() {
        int rounds = 5;
        long first = MIB;
        long last = 512 * MIB;
        long[] moves = new long[1];
        try (Heap heap = Heap.builder().name("doubling").build()) {
            RoundCost cost = RoundCost.of(heap, rounds, h -> {
                moves[0] = 0;
                long size = first;
                long block = h.mallocAddress(size);
                MemorySegment.ofAddress(block).reinterpret(size).fill((byte) 1);
                while (size < last) {
                    long grown = h.reallocAddress(block, size * 2);
                    moves[0] += grown != block ? 1 : 0;
                    MemorySegment.ofAddress(grown).reinterpret(size * 2).asSlice(size).fill((byte) 1);
                    block = grown;
                    size *= 2;
                }
                h.freeAddress(block);
            });
            System.out.printf("%n   Doubling: a buffer grown by realloc from %s to %s, every new byte written, then"
                            + " freed; %d rounds:%n   per round %.1f ms, %d of %d steps moved the buffer, mmap %.1f;"
                            + " peak committed %s, peak reserved %s%n", mib(first), mib(last), rounds, cost.ms(),
                    moves[0], Long.numberOfTrailingZeros(last / first), cost.mmap(),
                    mib(cost.after().peakCommittedBytes()), mib(cost.after().peakReservedBytes()));
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("firstBytes", first);
            row.put("lastBytes", last);
            row.put("movesPerRound", moves[0]);
            cost.putInto(row);
            row.put("peakCommittedBytes", cost.after().peakCommittedBytes());
            row.put("peakReservedBytes", cost.after().peakReservedBytes());
            results.put("doubling", row);
            verdicts.add(String.format("INFO realloc doubling %s to %s: %d of %d steps moved the buffer, %.1f mmap,"
                    + " %.1f ms per round", mib(first), mib(last), moves[0], Long.numberOfTrailingZeros(last / first),
                    cost.mmap(), cost.ms()));
        }
    }

    /**
     * What rounds of work cost, per round, after one warm-up round: time, OS calls and bytes purged.
     *
     * @param after the heap's statistics after the last round
     */
    private record RoundCost(int rounds, double ms, double mmap, double munmap, double madvise, long purged,
                             HeapStats after) {
        static RoundCost of(Heap heap, int rounds, java.util.function.Consumer<Heap> round) {
            round.accept(heap);
            HeapStats before = heap.stats();
            long t0 = System.nanoTime();
            for (int i = 0; i < rounds; i++) {
                round.accept(heap);
            }
            double ms = (System.nanoTime() - t0) / 1e6 / rounds;
            HeapStats after = heap.stats();
            return new RoundCost(rounds, ms, (double) (after.mmapCalls() - before.mmapCalls()) / rounds,
                    (double) (after.munmapCalls() - before.munmapCalls()) / rounds,
                    (double) (after.madviseCalls() - before.madviseCalls()) / rounds,
                    (after.purgedBytes() - before.purgedBytes()) / rounds, after);
        }

        void putInto(Map<String, Object> row) {
            row.put("rounds", rounds);
            row.put("msPerRound", round2(ms));
            row.put("mmapPerRound", mmap);
            row.put("munmapPerRound", munmap);
            row.put("madvisePerRound", madvise);
            row.put("purgedBytesPerRound", purged);
        }
    }

    private static MemorySegment writeEveryPage(MemorySegment block) {
        for (long offset = 0; offset < block.byteSize(); offset += FirstTouch.OS_PAGE) {
            block.set(JAVA_BYTE, offset, (byte) 1);
        }
        return block;
    }

    private static void burstRound(Heap heap) {
        MemorySegment[] blocks = new MemorySegment[BURST_BLOCKS];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = writeEveryPage(heap.malloc(MIB));
        }
        for (MemorySegment block : blocks) {
            heap.free(block);
        }
    }

    // ---- 3. the cost of a fresh page ----

    private void firstTouch() {
        long region = 64 * MIB;
        int repetitions = 7;
        System.out.printf("%n== 3. A 4 KiB OS page on this machine: own anonymous mmap of %s (MADV_NOHUGEPAGE),"
                + " one byte written per page;%n   median of %d repetitions after a warm-up.%n", mib(region),
                repetitions);
        FirstTouch.Result r = FirstTouch.measure(region, repetitions);
        System.out.printf("   first touch of a fresh page     %,8.0f ns/page%n", r.firstTouchNs());
        System.out.printf("   write to a present page         %,8.1f ns/page%n", r.touchedNs());
        System.out.printf("   madvise(MADV_DONTNEED)          %,8.0f ns/page (%,.0f us for the %s call)%n",
                r.madviseNs(), r.madviseCallUs(), mib(region));
        System.out.printf("   re-touch after MADV_DONTNEED    %,8.0f ns/page%n", r.retouchNs());
        System.out.printf("   purge + re-touch                %,8.0f ns/page = %,.0f us per MiB%n",
                r.madviseNs() + r.retouchNs(), (r.madviseNs() + r.retouchNs()) * 256 / 1000);
        System.out.printf("   mmap + munmap of 32 MiB         %,8.1f us per pair (no touch)%n", r.mmapMunmapPairUs());
        Map<String, Object> touch = new LinkedHashMap<>();
        touch.put("regionBytes", r.regionBytes());
        touch.put("repetitions", r.repetitions());
        touch.put("firstTouchNsPerPage", round1(r.firstTouchNs()));
        touch.put("presentPageWriteNsPerPage", round2(r.touchedNs()));
        touch.put("madviseDontneedNsPerPage", round1(r.madviseNs()));
        touch.put("retouchAfterDontneedNsPerPage", round1(r.retouchNs()));
        touch.put("mmapMunmap32MiBPairUs", round2(r.mmapMunmapPairUs()));
        results.put("firstTouch", touch);
        verdicts.add(String.format("INFO first touch of a fresh 4 KiB page: %.1f us (%.0f us per MiB); purge +"
                        + " re-touch %.1f us per page", r.firstTouchNs() / 1000, r.firstTouchNs() * 256 / 1000,
                (r.madviseNs() + r.retouchNs()) / 1000));
    }

    // ---- 4. metadata under virtual threads ----

    /** One task: a 64 B block held across a yield, then a few blocks of other sizes. */
    private static void task(Heap heap) {
        long held = heap.mallocAddress(64);
        Thread.yield();
        long a = heap.mallocAddress(200);
        long b = heap.mallocAddress(1000);
        long c = heap.mallocAddress(5000);
        long d = heap.mallocAddress(40_000);
        heap.freeAddress(d);
        heap.freeAddress(b);
        heap.freeAddress(c);
        heap.freeAddress(a);
        heap.freeAddress(held);
    }

    /** The metadata of one run of tasks on a fresh heap. */
    record ThreadRun(String threads, int tasks, int carriers, long before, long after, long afterTrim,
                     long liveBlocks, long ms) {
        Map<String, Object> toMap() {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("threads", threads);
            map.put("tasks", tasks);
            map.put("carrierThreads", carriers);
            map.put("metadataBytesBefore", before);
            map.put("metadataBytesAfter", after);
            map.put("metadataBytesAfterTrim", afterTrim);
            map.put("liveBlocksAfter", liveBlocks);
            map.put("ms", ms);
            return map;
        }
    }

    static ThreadRun onVirtualThreads(int tasks) {
        try (Heap heap = Heap.builder().name("vthreads").build()) {
            long before = heap.stats().metadataBytes();
            Set<String> carriers = ConcurrentHashMap.newKeySet();
            long t0 = System.nanoTime();
            try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int i = 0; i < tasks; i++) {
                    executor.execute(() -> {
                        task(heap);
                        carriers.add(carrierOf(Thread.currentThread()));
                    });
                }
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            HeapStats after = heap.stats();
            heap.trim();
            return new ThreadRun("virtual", tasks, carriers.size(), before, after.metadataBytes(),
                    heap.stats().metadataBytes(), after.liveBlocks(), ms);
        }
    }

    /** A virtual thread's {@code toString()} ends with {@code @} and its carrier's name. */
    private static String carrierOf(Thread thread) {
        String text = thread.toString();
        int at = text.lastIndexOf('@');
        return at >= 0 ? text.substring(at + 1) : text;
    }

    private static ThreadRun onPlatformPool(int tasks, int threads) throws InterruptedException {
        try (Heap heap = Heap.builder().name("pool").build()) {
            long before = heap.stats().metadataBytes();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CountDownLatch done = new CountDownLatch(tasks);
            long t0 = System.nanoTime();
            for (int i = 0; i < tasks; i++) {
                pool.execute(() -> {
                    task(heap);
                    done.countDown();
                });
            }
            done.await();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            HeapStats after = heap.stats();
            pool.shutdown();
            pool.awaitTermination(1, TimeUnit.MINUTES);
            heap.trim();
            return new ThreadRun(threads + " platform", tasks, threads, before, after.metadataBytes(),
                    heap.stats().metadataBytes(), after.liveBlocks(), ms);
        }
    }

    /** Run in a child JVM: one virtual-thread run, printed as one line of key=value pairs. */
    private static void childMain(int tasks) {
        ThreadRun run = onVirtualThreads(tasks);
        System.out.printf("child processors=%d carriers=%d before=%d after=%d afterTrim=%d live=%d ms=%d%n",
                Runtime.getRuntime().availableProcessors(), run.carriers(), run.before(), run.after(),
                run.afterTrim(), run.liveBlocks(), run.ms());
    }

    private void virtualThreads() throws Exception {
        int processors = Runtime.getRuntime().availableProcessors();
        System.out.printf("%n== 4. Heap metadata under virtual threads: each task allocates 64 B, yields, allocates"
                + " 200 B, 1000 B, 5000 B and 40,000 B,%n   frees all; a fresh heap per run; metadataBytes is the"
                + " heap's estimate of its Java-heap bookkeeping.%n   Target: it grows with carrier threads, not"
                + " with virtual threads.%n");
        System.out.printf("   %-34s %9s %9s %13s %13s %13s %6s%n", "threads", "tasks", "carriers", "metadata before",
                "after", "after trim()", "ms");
        List<Object> rows = new ArrayList<>();
        List<ThreadRun> virtual = new ArrayList<>();
        onVirtualThreads(10_000);
        for (int tasks : new int[] {1_000, 10_000, VIRTUAL_TASKS}) {
            ThreadRun run = onVirtualThreads(tasks);
            virtual.add(run);
            rows.add(print("virtual, this JVM", run));
        }
        rows.add(print("platform pool, this JVM", onPlatformPool(VIRTUAL_TASKS, processors)));
        String[][] children = {
                {"-Djdk.virtualThreadScheduler.parallelism=1", "parallelism=1"},
                {"-Djdk.virtualThreadScheduler.parallelism=2", "parallelism=2"},
                {"-Djdk.virtualThreadScheduler.parallelism=8", "parallelism=8"},
                {"-XX:ActiveProcessorCount=8", "8 processors (ActiveProcessorCount)"},
        };
        for (String[] child : children) {
            ThreadRun run = child(child[0], VIRTUAL_TASKS);
            if (run != null) {
                Map<String, Object> row = print("virtual, child JVM " + child[1], run);
                row.put("jvmOption", child[0]);
                rows.add(row);
            }
        }
        results.put("virtualThreads", rows);
        ThreadRun few = virtual.get(0);
        ThreadRun many = virtual.get(virtual.size() - 1);
        double perThread = (double) (many.after() - few.after()) / (many.tasks() - few.tasks());
        System.out.printf("   from %,d to %,d virtual threads: %+.2f B of metadata per virtual thread (a thread heap of"
                + " its own would be about %s each)%n", few.tasks(), many.tasks(), perThread, kib(THREAD_HEAP_BYTES));
        results.put("metadataBytesPerVirtualThread", round2(perThread));
        // Pages waiting for the purger come and go with timing: allow a few of them, never one per thread.
        boolean holds = many.after() <= 2 * few.after() + 64 * KIB;
        verdicts.add(String.format("%-4s virtual threads: metadata %s after %,d tasks vs %s after %,d (%+.2f B per"
                        + " virtual thread; %s after trim() for any count and carrier count on %d processors)",
                holds ? "OK" : "MISS", kib(many.after()), many.tasks(), kib(few.after()), few.tasks(), perThread,
                kib(many.afterTrim()), Runtime.getRuntime().availableProcessors()));
    }

    private static Map<String, Object> print(String label, ThreadRun run) {
        System.out.printf("   %-34s %,9d %9d %13s %13s %13s %,6d%n", label, run.tasks(), run.carriers(),
                kib(run.before()), kib(run.after()), kib(run.afterTrim()), run.ms());
        Map<String, Object> row = run.toMap();
        row.put("label", label);
        return row;
    }

    /** Runs {@link #childMain} in a child JVM with {@code option}; null (and a note) if it fails. */
    private static ThreadRun child(String option, int tasks) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = List.of(java, "--enable-native-access=ALL-UNNAMED", option, "-cp",
                System.getProperty("java.class.path"), MemoryReturn.class.getName(), CHILD, String.valueOf(tasks));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int status = process.waitFor();
        for (String line : output.split("\n")) {
            if (line.startsWith("child ")) {
                Map<String, Long> values = new LinkedHashMap<>();
                for (String pair : line.substring(6).trim().split(" ")) {
                    String[] kv = pair.split("=");
                    values.put(kv[0], Long.parseLong(kv[1]));
                }
                return new ThreadRun("virtual", tasks, values.get("carriers").intValue(), values.get("before"),
                        values.get("after"), values.get("afterTrim"), values.get("live"), values.get("ms"));
            }
        }
        System.out.printf("   child JVM with %s failed (exit %d):%n%s%n", option, status, output.strip());
        return null;
    }

    // ---- 5. platform threads coming and going ----

    /** Growth runs per thread count; the fastest counts, as the one least disturbed by the machine. */
    static final int GROWTH_RUNS = 3;
    static final int GROWTH_IDLE_THREADS = 4_000;

    private void threadTurnover() throws InterruptedException {
        System.out.printf("%n== 5. Platform threads coming and going%n");
        System.out.printf("   churn: %d rounds of %d threads started as the last round's ended, each %,d random"
                + " mallocs/frees of 16 B-20 KB over %,d slots, all freed;%n   peak committed after rounds 1, 2, 4,"
                + " 8, 16 (the live bytes are the same every round):%n", ThreadTurnover.CHURN_ROUNDS,
                ThreadTurnover.CHURN_THREADS, ThreadTurnover.CHURN_STEPS, ThreadTurnover.CHURN_SLOTS);
        long[] peaks = ThreadTurnover.churnPeaks();
        StringBuilder line = new StringBuilder("  ");
        List<Long> peakList = new ArrayList<>();
        for (int round = 0; round < peaks.length; round++) {
            peakList.add(peaks[round]);
            if (Integer.bitCount(round + 1) == 1) {
                line.append(String.format("  round %d: %s", round + 1, mib(peaks[round])));
            }
        }
        System.out.println(line);
        double growth = peaks[peaks.length - 1] / (double) peaks[0];
        Map<String, Object> turnover = new LinkedHashMap<>();
        turnover.put("churnPeakCommittedBytes", peakList);
        turnover.put("churnPeakGrowth", round2(growth));
        verdicts.add(String.format("INFO short-lived threads: peak committed after %d rounds %.2f x the first"
                + " round's, with the same live bytes", peaks.length, growth));

        System.out.printf("   growth: one thread allocates %s in %d B blocks on a fresh heap while other threads"
                + " each hold a block;%n   the fastest of %d runs:%n", mib(ThreadTurnover.GROWTH_BYTES),
                ThreadTurnover.GROWTH_BLOCK, GROWTH_RUNS);
        Map<String, Object> growthMs = new LinkedHashMap<>();
        double[] best = new double[2];
        int[] idleCounts = {1, GROWTH_IDLE_THREADS};
        for (int i = 0; i < idleCounts.length; i++) {
            long fastest = Long.MAX_VALUE;
            for (int run = 0; run < GROWTH_RUNS; run++) {
                fastest = Math.min(fastest, ThreadTurnover.growthNanos(idleCounts[i]));
            }
            best[i] = fastest / 1e6;
            System.out.printf("   %,6d idle threads   %,8.1f ms%n", idleCounts[i], best[i]);
            growthMs.put(String.valueOf(idleCounts[i]), round1(best[i]));
        }
        turnover.put("growthMsByIdleThreads", growthMs);
        verdicts.add(String.format("INFO growth to %s with %,d idle threads: %.1f x the time with 1",
                mib(ThreadTurnover.GROWTH_BYTES), GROWTH_IDLE_THREADS, best[1] / best[0]));

        long[] pool = ThreadTurnover.waitingPoolCommitted();
        System.out.printf("   waiting pool: %d threads each made %,d blocks of 16 B-%s (log-uniform), freed them all and"
                + " wait, alive;%n   committed %,d ms later: %s of a %s peak, nothing live%n",
                ThreadTurnover.POOL_THREADS, ThreadTurnover.POOL_BLOCKS, size(ThreadTurnover.POOL_MAX_BLOCK),
                ThreadTurnover.POOL_WAIT_MILLIS, mib(pool[1]), mib(pool[0]));
        turnover.put("waitingPoolPeakCommittedBytes", pool[0]);
        turnover.put("waitingPoolCommittedBytes", pool[1]);
        results.put("threadTurnover", turnover);
        verdicts.add(String.format("INFO %d threads waiting after freeing every block: %s committed (%.2f %% of the peak)",
                ThreadTurnover.POOL_THREADS, mib(pool[1]), 100.0 * pool[1] / pool[0]));
    }

    // ---- helpers ----

    private static String loadAverage() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return fields[0] + " " + fields[1] + " " + fields[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** The JVM's anonymous resident memory, from /proc/self/status; 0 where there is none. */
    static long rssAnonBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("RssAnon:")) {
                    String[] parts = line.substring(8).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * KIB;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no such line: report 0
        }
        return 0;
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static int[] shuffled(int n, SplittableRandom random) {
        int[] order = new int[n];
        Arrays.setAll(order, i -> i);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%,.1f MiB", bytes / (double) MIB);
    }

    static String kib(long bytes) {
        return String.format(Locale.ROOT, "%,.1f KiB", bytes / (double) KIB);
    }

    private static String size(long bytes) {
        return bytes >= MIB ? bytes / MIB + " MiB" : bytes / KIB + " KiB";
    }

    private static double round1(double value) {
        return Math.round(value * 10) / 10.0;
    }

    private static double round2(double value) {
        return Math.round(value * 100) / 100.0;
    }
}
