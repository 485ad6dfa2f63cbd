package org.malloc4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * What {@link JavaHeapExhaustionTest} runs in a JVM of its own with a small Java heap: heap operations
 * while the Java heap is full but for a small headroom, then, the ballast dropped, a check that the
 * heap is as the program's model of it says. It prints a line starting with {@code VIOLATION} for
 * every way the heap is not, and a last line {@code RESULT ...} saying how many attempts met an
 * {@link OutOfMemoryError}.
 *
 * <p>Arguments: {@code first HEADROOM MODE} (the JVM's very first malloc, on a heap of that check
 * mode, one attempt), or one of {@code classes}, {@code realloc}, {@code segments}, {@code remote},
 * then {@code ATTEMPTS SEED MAX_HEADROOM SECONDS SPACERS}: that many attempts, each on a heap of its
 * own with a headroom drawn from {@code [0, MAX_HEADROOM)}, stopping early after {@code SECONDS};
 * with {@code SPACERS true}, each operation of the main thread also gets a spacer (see
 * {@link #SPACER}). The first attempts of these run without pressure: they load and link all the
 * code the others use, and measure what the operations allocate.
 *
 * <p>The code that runs under pressure allocates nothing of its own on the Java heap (no string
 * concatenation, boxing, lambda or iterator): it records each operation and what it threw in
 * arrays made beforehand, so what the heap throws is all that is seen. HotSpot gives only the
 * first few {@code OutOfMemoryError}s a stack trace, so a violation names the throwable's class
 * and message.
 */
final class JavaHeapExhaustionProgram {
    private static final int MAX_BLOCKS = 1024;
    private static final int MAX_OPS = 2048;
    private static final int HELPERS = 3;
    private static final int PRINTED_ATTEMPTS = 3;
    private static final int PRINTED_LINES = 12;
    private static final int HANG_SECONDS = 50;
    /** {@code -Dverbose=true}: a line for every attempt, to see where the violations are. */
    private static final boolean VERBOSE = Boolean.getBoolean("verbose");

    private static final byte LIVE = 1;
    private static final byte FREED = 2;
    /** A free that threw: the block is either still live or freed; which, is looked up after. */
    private static final byte FREE_THREW = 3;
    /** Found not live after recovery (reported): not freed again. */
    private static final byte LOST = 4;

    private static final String[] KIND = {"mallocAddress", "callocAddress", "reallocAddress", "malloc", "calloc",
        "realloc", "freeAddress on another thread", "mallocAddress on another thread"};
    private static final byte MALLOC = 0;
    private static final byte CALLOC = 1;
    private static final byte REALLOC = 2;
    private static final byte SEGMENT_MALLOC = 3;
    private static final byte SEGMENT_CALLOC = 4;
    private static final byte SEGMENT_REALLOC = 5;
    private static final byte REMOTE_FREE = 6;
    private static final byte REMOTE_MALLOC = 7;

    /** Sizes of every size class (16 B to 128 KiB), then a large and a huge block. */
    private static long[] classSizes;
    private static final long[] FIRST_SIZES = {1000, 16, 5000, 50_000, 300_000};
    private static final long[] SEGMENT_SIZES = {0, 1, 24, 100, 700, 3000, 9000, 40_000, 150_000, 1 << 20, 17 << 20};
    private static final long[] REALLOC_STARTS = {24, 200, 1500, 6000, 30_000, 100_000};
    private static final long[] REMOTE_SIZES = {16, 48, 128, 320, 1000, 3000, 8192, 20_000, 100_000, 600_000};
    private static final long[] HELPER_SIZES = {16, 200, 3000, 9000, 40_000, 300_000};

    private static final ArrayList<Object> BALLAST = new ArrayList<>(100_000);
    /**
     * The operations of the main thread a scenario plans, each with a number (a realloc chain's
     * steps have numbers of their own, so a chain an OutOfMemoryError ended leaves the next ones'
     * as they were).
     */
    private static final int PLANNED = 256;
    /**
     * Arrays made with the ballast, one a planned operation: the operation drops its spacer as it
     * starts, so the collection its first failing allocation runs gives it that many bytes more.
     * A spacer is smaller than the Java heap the operation keeps without pressure: the
     * operation runs out at a random point of its work, where the headroom alone would mostly
     * have it fail at its first allocation.
     */
    private static final Object[] SPACER = new Object[PLANNED];
    /** The payload size of each spacer, or -1 for none. */
    private static final int[] SPACER_SIZE = new int[PLANNED];
    /** For each check mode, the bytes of Java heap each planned operation kept in use in a warm-up. */
    private static final long[][] COST = new long[CheckMode.values().length][PLANNED];
    /** The row of {@link #COST} a warm-up measures, else null. */
    private static long[] measuring;
    private static int measuredPlan;
    private static long measuredFrom;
    /** Where the pattern a block should hold is written, to compare. */
    private static final MemorySegment PATTERN = Arena.global().allocate(1 << 16);

    // The model: the blocks the program holds.
    private static final AtomicInteger BLOCKS = new AtomicInteger();
    private static final long[] ADDRESS = new long[MAX_BLOCKS];
    private static final long[] SIZE = new long[MAX_BLOCKS];
    /** How many bytes at the block's start hold its pattern, written before the pressure. */
    private static final long[] PATTERNED = new long[MAX_BLOCKS];
    /** The segment of a block the segment API made, else null. */
    private static final MemorySegment[] SEGMENT = new MemorySegment[MAX_BLOCKS];
    private static final byte[] STATE = new byte[MAX_BLOCKS];
    /** A realloc of the block threw: the block must be the old one, live and unchanged. */
    private static final boolean[] REALLOC_THREW = new boolean[MAX_BLOCKS];

    // What was done under pressure, and what each call threw.
    private static final AtomicInteger OPS = new AtomicInteger();
    private static final byte[] OP_KIND = new byte[MAX_OPS];
    private static final long[] OP_SIZE = new long[MAX_OPS];
    private static final Throwable[] OP_THROWN = new Throwable[MAX_OPS];


    private static volatile int phase;
    private static final AtomicInteger HELPERS_DONE = new AtomicInteger();

    /**
     * Heaps closed in the last seconds, with when: the purger holds a closed heap's objects for up
     * to a second, and those it lets go during an attempt would be headroom the attempt did not
     * plan. Held here, they go only when the purger is done with them, and the fill's collections
     * take them.
     */
    private static final List<Heap> CLOSED = new ArrayList<>();
    private static final List<Long> CLOSED_AT = new ArrayList<>();

    private static final List<String> violations = new ArrayList<>();
    private static final Map<String, Integer> KINDS = new TreeMap<>();

    private JavaHeapExhaustionProgram() {
    }

    /** The violation of an attempt that threw, where even its report found no Java memory. */
    private static final String THREW_UNREPORTED =
            "the attempt threw, and its report found no room on the Java heap, even with the ballast dropped";

    public static void main(String[] args) throws Exception {
        // The JVM's first string concatenation, lambda and logger, if made under pressure, would
        // fail for good in this JVM (their classes would not initialize): made here, what fails
        // under pressure is malloc4j's own.
        String scenario = args[0];
        Runnable lambda = () -> System.getLogger(JavaHeapExhaustionProgram.class.getName())
                .log(System.Logger.Level.DEBUG, "program " + scenario + ' ' + args.length + ' ' + System.nanoTime());
        lambda.run();
        watchdog();
        if (scenario.equals("first")) {
            first(Integer.parseInt(args[1]), CheckMode.valueOf(args[2]));
            System.out.flush();
            System.exit(0);
        }
        int attempts = Integer.parseInt(args[1]);
        Random random = new Random(Long.parseLong(args[2]));
        int maxHeadroom = Integer.parseInt(args[3]);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[4]));
        boolean spacers = Boolean.parseBoolean(args[5]);
        classSizes = classSizes();
        CheckMode[] modes = scenario.equals("segments") || scenario.equals("realloc")
                ? new CheckMode[] {CheckMode.FAST, CheckMode.FAST, CheckMode.FULL} : new CheckMode[] {CheckMode.FAST};
        // Each mode's first attempt loads the code, its second measures the operations' cost.
        int[] warmUps = new int[CheckMode.values().length];
        int withOome = 0;
        int failed = 0;
        int done = 0;
        for (int attempt = 0; attempt < attempts && System.nanoTime() < deadline; attempt++) {
            CheckMode mode = modes[attempt % modes.length];
            boolean pressure = warmUps[mode.ordinal()] == 2;
            measuring = warmUps[mode.ordinal()] == 1 ? COST[mode.ordinal()] : null;
            if (!pressure) {
                warmUps[mode.ordinal()]++;
            }
            int headroom = pressure ? random.nextInt(maxHeadroom) : -1;
            for (int i = 0; i < PLANNED; i++) {
                int cost = (int) Math.min(COST[mode.ordinal()][i], Integer.MAX_VALUE);
                // A spacer of n bytes frees n + 16 (its header).
                SPACER_SIZE[i] = spacers && cost > 0 ? random.nextInt(cost) - 16 : -1;
            }
            reset();
            while (!CLOSED_AT.isEmpty() && System.nanoTime() - CLOSED_AT.get(0) > TimeUnit.SECONDS.toNanos(2)) {
                CLOSED.remove(0);
                CLOSED_AT.remove(0);
            }
            long started = System.nanoTime();
            int oomes = 0;
            try {
                oomes = attempt(scenario, mode, headroom);
            } catch (Throwable t) {
                // Its report is built once the ballast is dropped; should that still find no room,
                // a report made ahead says so, rather than the program dying unreported.
                try {
                    recover();
                    violation("the attempt threw " + describe(t));
                } catch (Throwable u) {
                    recover();
                    violation(THREW_UNREPORTED);
                }
            }
            done++;
            if (oomes > 0) {
                withOome++;
            }
            if (VERBOSE) {
                System.out.println("attempt " + attempt + " headroom " + headroom + " " + mode + ": " + oomes
                        + " OutOfMemoryErrors, " + violations.size() + " violations, "
                        + (System.nanoTime() - started) / 1_000_000 + " ms");
            }
            if (!violations.isEmpty()) {
                failed++;
                String where = (pressure ? "attempt " + attempt + " (headroom " + headroom + " B" : "warm-up ("
                        + "no pressure") + ", " + mode + ", " + oomes + " OutOfMemoryErrors)";
                print(where, failed <= PRINTED_ATTEMPTS);
            }
        }
        System.out.println("RESULT " + scenario + ": " + done + " attempts, " + withOome
                + " met an OutOfMemoryError, " + failed + " with violations");
        KINDS.forEach((kind, count) -> System.out.println("  " + count + "x " + kind));
        System.out.flush();
        System.exit(0);
    }

    /**
     * Ends the JVM after {@link #HANG_SECONDS} with a violation and the stacks of its threads: a
     * lock that an OutOfMemoryError left held hangs the program, and the test waits for its end.
     */
    private static void watchdog() {
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(HANG_SECONDS));
            } catch (InterruptedException e) {
                return;
            }
            BALLAST.clear();
            StringBuilder stacks = new StringBuilder();
            Thread.getAllStackTraces().forEach((thread, stack) -> {
                stacks.append("  thread ").append(thread.getName()).append('\n');
                for (int i = 0; i < Math.min(12, stack.length); i++) {
                    stacks.append("    at ").append(stack[i]).append('\n');
                }
            });
            System.out.println("VIOLATION HANG: the program did not finish in " + HANG_SECONDS + " s:\n" + stacks);
            System.out.flush();
            Runtime.getRuntime().halt(3);
        }, "watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    /** The JVM's first malloc, and a few more, with {@code headroom} bytes of the Java heap free. */
    private static void first(int headroom, CheckMode mode) {
        reset();
        java.util.Arrays.fill(SPACER_SIZE, -1);
        measuring = null;
        Heap heap = Heap.builder().name("first").checkMode(mode).leakReportAtClose(false).build();
        fill(headroom);
        for (long bytes : FIRST_SIZES) {
            mallocRaw(heap, bytes, MALLOC, -1);
        }
        recover();
        classSizes = classSizes();
        int oomes = verify(heap, true);
        if (!violations.isEmpty()) {
            print("the first malloc (headroom " + headroom + " B, " + mode + ", " + oomes + " OutOfMemoryErrors)",
                    true);
        }
        System.out.println("RESULT first: 1 attempts, " + (oomes > 0 ? 1 : 0) + " met an OutOfMemoryError, "
                + (violations.isEmpty() ? 0 : 1) + " with violations");
    }

    /** @return the number of {@link OutOfMemoryError}s the operations under pressure threw */
    private static int attempt(String scenario, CheckMode mode, int headroom) throws Exception {
        Heap heap = Heap.builder().name("attempt").checkMode(mode).leakReportAtClose(false).build();
        boolean pressure = headroom >= 0;
        switch (scenario) {
            case "classes" -> {
                fillIf(pressure, headroom);
                for (int i = 0; i < classSizes.length; i++) {
                    mallocRaw(heap, classSizes[i], MALLOC, i);
                }
                recover();
            }
            case "realloc" -> {
                for (int i = 0; i < REALLOC_STARTS.length * 2; i++) {
                    long bytes = REALLOC_STARTS[i % REALLOC_STARTS.length];
                    if (i < REALLOC_STARTS.length) {
                        hold(heap.mallocAddress(bytes), bytes, null);
                    } else {
                        MemorySegment block = heap.malloc(bytes);
                        hold(block.address(), bytes, block);
                    }
                    writePattern(i);
                }
                fillIf(pressure, headroom);
                int blocks = BLOCKS.get();
                for (int i = 0; i < blocks; i++) {
                    // Grows across the classes into large blocks (the largest into a huge block),
                    // then shrinks to a small block, which frees the large one, and grows again. A
                    // step that threw leaves the old block, which the next step resizes.
                    long largest = SIZE[i] >= 100_000 ? 32L << 20 : 2L << 20;
                    int plan = i * 16;
                    for (long bytes = SIZE[i] * 3 + 100; bytes < largest; bytes = bytes * 3 + 100) {
                        realloc(heap, i, bytes, plan++);
                    }
                    realloc(heap, i, 100, plan++);
                    realloc(heap, i, 3000, plan);
                }
                recover();
            }
            case "segments" -> {
                fillIf(pressure, headroom);
                for (int i = 0; i < SEGMENT_SIZES.length; i++) {
                    mallocSegment(heap, SEGMENT_SIZES[i], 2 * i);
                    callocSegment(heap, SEGMENT_SIZES[i], 2 * i + 1);
                }
                recover();
            }
            case "remote" -> {
                for (int i = 0; i < 60; i++) {
                    long bytes = i == 0 ? 20 << 20 : REMOTE_SIZES[i % REMOTE_SIZES.length];
                    hold(heap.mallocAddress(bytes), bytes, null);
                    writePattern(i);
                }
                int remote = BLOCKS.get();
                Thread[] helpers = new Thread[HELPERS];
                for (int h = 0; h < HELPERS; h++) {
                    int first = h;
                    helpers[h] = Thread.ofPlatform().name("helper-" + h).start(() -> helper(heap, first, remote));
                }
                fillIf(pressure, headroom);
                phase = 1;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (HELPERS_DONE.get() < HELPERS && System.nanoTime() < deadline) {
                    LockSupport.parkNanos(100_000);
                }
                recover();
                phase = 2;
                for (Thread helper : helpers) {
                    helper.join(10_000);
                    if (helper.isAlive()) {
                        violation("HANG: " + helper.getName() + ", freeing blocks of the main thread, did not finish");
                    }
                }
            }
            default -> throw new IllegalArgumentException(scenario);
        }
        return verify(heap, false);
    }

    /** Frees every {@code HELPERS}-th block from {@code first}, then mallocs its own. */
    private static void helper(Heap heap, int first, int blocks) {
        while (phase == 0) {
            LockSupport.parkNanos(100_000);
        }
        for (int i = first; i < blocks; i += HELPERS) {
            int op = begin(REMOTE_FREE, SIZE[i], -1);
            try {
                heap.freeAddress(ADDRESS[i]);
                STATE[i] = FREED;
            } catch (Throwable t) {
                threw(op, t);
                STATE[i] = FREE_THREW;
            }
        }
        for (long bytes : HELPER_SIZES) {
            mallocRaw(heap, bytes, REMOTE_MALLOC, -1);
        }
        HELPERS_DONE.incrementAndGet();
        while (phase != 2) {
            LockSupport.parkNanos(100_000);
        }
    }

    // ---------------------------------------------------------------- under pressure: no allocation

    /**
     * Starts an operation: drops its spacer, if it is a planned one.
     *
     * @param plan the number of a planned operation of the main thread, else -1
     * @return the operation's number, for {@link #threw}
     */
    private static int begin(byte kind, long bytes, int plan) {
        int op = OPS.getAndIncrement();
        if (plan >= 0) {
            if (measuring != null) {
                measured(plan);
            }
            SPACER[plan] = null;
        }
        OP_KIND[op] = kind;
        OP_SIZE[op] = bytes;
        return op;
    }

    /** The Java heap still in use of what was allocated since the last planned operation began is its cost. */
    private static void measured(int next) {
        System.gc();
        long now = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        if (measuredPlan >= 0) {
            measuring[measuredPlan] = now - measuredFrom;
        }
        measuredPlan = next;
        measuredFrom = now;
    }

    private static void threw(int op, Throwable t) {
        OP_THROWN[op] = t;
    }

    private static int hold(long address, long bytes, MemorySegment segment) {
        int i = BLOCKS.getAndIncrement();
        ADDRESS[i] = address;
        SIZE[i] = bytes;
        SEGMENT[i] = segment;
        STATE[i] = LIVE;
        return i;
    }

    private static void mallocRaw(Heap heap, long bytes, byte kind, int plan) {
        int op = begin(kind, bytes, plan);
        try {
            hold(heap.mallocAddress(bytes), bytes, null);
        } catch (Throwable t) {
            threw(op, t);
        }
    }

    private static void mallocSegment(Heap heap, long bytes, int plan) {
        int op = begin(SEGMENT_MALLOC, bytes, plan);
        try {
            MemorySegment block = heap.malloc(bytes);
            hold(block.address(), bytes, block);
        } catch (Throwable t) {
            threw(op, t);
        }
    }

    private static void callocSegment(Heap heap, long bytes, int plan) {
        long element = (bytes + 2) / 3;
        int op = begin(SEGMENT_CALLOC, element * 3, plan);
        try {
            MemorySegment block = heap.calloc(3, element);
            hold(block.address(), element * 3, block);
        } catch (Throwable t) {
            threw(op, t);
        }
    }

    /** Resizes block {@code i}; if that throws, the model keeps the old block. */
    private static void realloc(Heap heap, int i, long bytes, int plan) {
        MemorySegment segment = SEGMENT[i];
        int op = begin(segment == null ? REALLOC : SEGMENT_REALLOC, bytes, plan);
        try {
            if (segment == null) {
                ADDRESS[i] = heap.reallocAddress(ADDRESS[i], bytes);
            } else {
                MemorySegment moved = heap.realloc(segment, bytes);
                SEGMENT[i] = moved;
                ADDRESS[i] = moved.address();
            }
            SIZE[i] = bytes;
            PATTERNED[i] = Math.min(PATTERNED[i], bytes);
            REALLOC_THREW[i] = false;
        } catch (Throwable t) {
            threw(op, t);
            REALLOC_THREW[i] = true;
        }
    }

    // ---------------------------------------------------------------- the Java heap

    private static void fillIf(boolean pressure, int headroom) {
        if (pressure) {
            fill(headroom);
        }
    }

    /**
     * Fills the Java heap but for about {@code headroom} bytes, and the spacers, which the
     * operations free one by one.
     */
    private static void fill(int headroom) {
        long room = headroom;
        for (int i = 0; i < PLANNED; i++) {
            room += SPACER_SIZE[i] < 0 ? 0 : SPACER_SIZE[i] + 24;
        }
        byte[] reserve = new byte[(int) room];
        Runtime runtime = Runtime.getRuntime();
        try {
            // Nearly full first without an OutOfMemoryError, which costs collections.
            for (long free = free(runtime); free > 1 << 20; free = free(runtime)) {
                BALLAST.add(new byte[(int) Math.min(free / 2, 1 << 20)]);
            }
        } catch (OutOfMemoryError e) {
            // full already
        }
        for (int chunk = 1 << 18; chunk >= 8; chunk >>= 3) {
            try {
                while (true) {
                    BALLAST.add(new byte[chunk]);
                }
            } catch (OutOfMemoryError e) {
                // the next smaller chunk
            }
        }
        reserve = null;
        // Made last, the spacers lie after the ballast: a collection that frees one moves only
        // what lies after it, not the whole ballast.
        for (int i = 0; i < PLANNED; i++) {
            SPACER[i] = SPACER_SIZE[i] < 0 ? null : new byte[SPACER_SIZE[i]];
        }
    }

    private static long free(Runtime runtime) {
        return runtime.maxMemory() - runtime.totalMemory() + runtime.freeMemory();
    }

    private static void recover() {
        if (measuring != null) {
            measured(-1);
        }
        BALLAST.clear();
        java.util.Arrays.fill(SPACER, null);
        System.gc();
    }

    // ---------------------------------------------------------------- after recovery

    private static void reset() {
        BLOCKS.set(0);
        OPS.set(0);
        java.util.Arrays.fill(SEGMENT, null);
        java.util.Arrays.fill(OP_THROWN, null);
        java.util.Arrays.fill(STATE, (byte) 0);
        java.util.Arrays.fill(REALLOC_THREW, false);
        java.util.Arrays.fill(PATTERNED, 0);
        measuredPlan = -1;
        phase = 0;
        HELPERS_DONE.set(0);
        violations.clear();
    }

    private static long[] classSizes() {
        try (Heap heap = Heap.builder().name("sizes").build()) {
            List<Long> sizes = new ArrayList<>();
            for (long bytes = 1; bytes <= 128 * 1024; bytes = heap.goodSize(bytes) + 1) {
                sizes.add(heap.goodSize(bytes));
            }
            sizes.add(200_000L);
            sizes.add(20L << 20);
            return sizes.stream().mapToLong(Long::longValue).toArray();
        }
    }

    private static byte pattern(int i) {
        return (byte) (i * 31 + 7);
    }

    private static void writePattern(int i) {
        PATTERNED[i] = Math.min(SIZE[i], PATTERN.byteSize());
        MemorySegment.ofAddress(ADDRESS[i]).reinterpret(PATTERNED[i]).fill(pattern(i));
    }

    /**
     * Checks the heap against the model, frees every block, then checks the heap's trim, check and
     * close, a fresh heap and a new thread.
     *
     * @return the number of {@link OutOfMemoryError}s the operations under pressure threw
     */
    private static int verify(Heap heap, boolean first) {
        int oomes = 0;
        int ops = OPS.get();
        for (int op = 0; op < ops; op++) {
            Throwable thrown = OP_THROWN[op];
            if (thrown instanceof OutOfMemoryError) {
                oomes++;
            } else if (thrown != null) {
                violation((first && op == 0 ? "the JVM's first " : "") + KIND[OP_KIND[op]] + "(" + OP_SIZE[op]
                        + ") under pressure threw " + describe(thrown) + "; only an OutOfMemoryError may be thrown");
            }
        }
        int blocks = BLOCKS.get();
        for (int i = 0; i < blocks; i++) {
            if (STATE[i] == FREE_THREW) {
                resolveFree(heap, i, blocks);
            }
        }
        for (int i = 0; i < blocks; i++) {
            if (STATE[i] == LIVE) {
                checkLive(heap, i);
            }
        }
        call("trim()", heap::trim);
        call("check()", heap::check);
        call("a stack trace", JavaHeapExhaustionProgram::stackTrace);
        for (long bytes : classSizes) {
            try {
                hold(heap.mallocAddress(bytes), bytes, null);
            } catch (Throwable t) {
                violation("mallocAddress(" + bytes + ") after recovery threw " + describe(t));
            }
        }
        newThreads(heap, "the heap");
        blocks = BLOCKS.get();
        long held = 0;
        for (int i = 0; i < blocks; i++) {
            if (STATE[i] == LIVE) {
                held++;
            }
        }
        checkLiveBlocks(heap, held, "");
        for (int i = 0; i < blocks; i++) {
            if (STATE[i] == LIVE) {
                try {
                    if (SEGMENT[i] != null) {
                        heap.free(SEGMENT[i]);
                    } else {
                        heap.freeAddress(ADDRESS[i]);
                    }
                    STATE[i] = FREED;
                } catch (Throwable t) {
                    violation("freeing " + block(i) + " after recovery threw " + describe(t));
                }
            }
        }
        checkLiveBlocks(heap, 0, " after freeing every block");
        call("trim() after freeing every block", heap::trim);
        call("check() after freeing every block", heap::check);
        checkNothingHeld(heap);
        call("close()", heap::close);
        keep(heap);
        try (Heap fresh = Heap.builder().name("fresh").leakReportAtClose(false).build()) {
            keep(fresh);
            fresh.freeAddress(fresh.mallocAddress(64));
            fresh.free(fresh.malloc(5000));
            newThreads(fresh, "a fresh heap");
        } catch (Throwable t) {
            violation("a fresh heap's malloc after recovery threw " + describe(t));
        }
        return oomes;
    }

    /**
     * Stack traces still work: the first with a frame of the JDK's (here {@code Thread.getStackTrace})
     * that a process makes initializes classes of the JDK, and a thread of malloc4j's that died under
     * pressure, its stack printed, would leave them failing for good.
     */
    private static void stackTrace() {
        if (Thread.currentThread().getStackTrace().length == 0) {
            throw new AssertionError("an empty stack trace");
        }
    }

    private static void keep(Heap heap) {
        CLOSED.add(heap);
        CLOSED_AT.add(System.nanoTime());
    }

    /** A free that threw: the block must be either live or freed, as {@code usableSize} says. */
    private static void resolveFree(Heap heap, int i, int blocks) {
        for (int j = 0; j < blocks; j++) {
            if (j != i && STATE[j] == LIVE && ADDRESS[j] == ADDRESS[i]) {
                STATE[i] = FREED;
                return;
            }
        }
        try {
            heap.usableSize(ADDRESS[i]);
            STATE[i] = LIVE;
        } catch (MemoryMisuseException e) {
            STATE[i] = FREED;
        } catch (Throwable t) {
            violation("usableSize of " + block(i) + " whose free threw, after recovery, threw " + describe(t));
            STATE[i] = LOST;
        }
    }

    /** Block {@code i} must be live, as large as the model says, its pattern intact. */
    private static void checkLive(Heap heap, int i) {
        long usable;
        try {
            usable = heap.usableSize(ADDRESS[i]);
        } catch (Throwable t) {
            violation(block(i) + " is not live after recovery: usableSize threw " + describe(t));
            STATE[i] = LOST;
            return;
        }
        if (usable < SIZE[i]) {
            violation(block(i) + " has a usable size of only " + usable + " B after recovery");
            STATE[i] = LOST;
            return;
        }
        MemorySegment memory = MemorySegment.ofAddress(ADDRESS[i]).reinterpret(PATTERNED[i]);
        MemorySegment expected = PATTERN.asSlice(0, PATTERNED[i]).fill(pattern(i));
        long mismatch = memory.mismatch(expected);
        if (mismatch >= 0) {
            violation(block(i) + " lost its contents: byte " + mismatch + " of the " + PATTERNED[i]
                    + " written before is " + memory.get(ValueLayout.JAVA_BYTE, mismatch) + ", not " + pattern(i));
        }
    }

    private static void checkLiveBlocks(Heap heap, long held, String when) {
        try {
            long live = heap.stats().liveBlocks();
            if (live != held) {
                violation("stats().liveBlocks() is " + live + when + ", but the program holds " + held + " blocks");
            }
        } catch (Throwable t) {
            violation("stats()" + when + " threw " + describe(t));
        }
    }

    /**
     * With no block live, a trimmed heap holds no memory and no address space: a span, page,
     * mapping or remote free lost under pressure holds its memory, and its region, until the close,
     * where {@code stats()} and {@code check()} see nothing wrong (its blocks counted free).
     */
    private static void checkNothingHeld(Heap heap) {
        try {
            HeapStats stats = heap.stats();
            if (stats.committedBytes() != 0 || stats.reservedBytes() != 0) {
                violation("with no block live, trim() left memory committed or reserved: " + stats);
            }
        } catch (Throwable t) {
            violation("stats() after freeing every block threw " + describe(t));
        }
    }

    /** A new platform thread's and a new virtual thread's first malloc and free on {@code heap}. */
    private static void newThreads(Heap heap, String which) {
        for (Thread.Builder builder : List.of(Thread.ofPlatform(), Thread.ofVirtual())) {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread thread = builder.start(() -> {
                try {
                    for (long bytes : new long[] {16, 1000, 50_000, 300_000}) {
                        heap.freeAddress(heap.mallocAddress(bytes));
                    }
                    heap.free(heap.malloc(100));
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            String kind = builder instanceof Thread.Builder.OfVirtual ? "virtual" : "platform";
            if (thread.isAlive()) {
                violation("HANG: a new " + kind + " thread's first malloc on " + which + " did not return");
            } else if (thrown.get() != null) {
                violation("a new " + kind + " thread's first malloc on " + which + " after recovery threw "
                        + describe(thrown.get()));
            }
        }
    }

    private interface Call {
        void run();
    }

    private static void call(String what, Call call) {
        try {
            call.run();
        } catch (Throwable t) {
            violation(what + " after recovery threw " + describe(t));
        }
    }

    private static String block(int i) {
        return "a " + (SEGMENT[i] != null ? "segment" : "block") + " of " + SIZE[i] + " B"
                + (REALLOC_THREW[i] ? " whose last realloc threw (the old block must stay live and unchanged)" : "");
    }

    /** The class and message of {@code t} and its causes, and where in malloc4j it was thrown if known. */
    private static String describe(Throwable t) {
        StringBuilder text = new StringBuilder();
        Throwable cause = t;
        for (int depth = 0; cause != null && depth < 4; depth++, cause = cause.getCause()) {
            if (cause != t) {
                text.append(" caused by ");
            }
            text.append(cause.getClass().getName());
            if (cause.getMessage() != null) {
                text.append(": ").append(cause.getMessage().lines().findFirst().orElse(""));
            }
            StackTraceElement[] stack;
            try {
                stack = cause.getStackTrace();
            } catch (Throwable t2) {
                text.append(" (its stack trace threw ").append(t2.getClass().getName()).append(')');
                continue;
            }
            for (StackTraceElement frame : stack) {
                if (frame.getClassName().startsWith("org.malloc4j.internal")) {
                    text.append(" (at ").append(frame).append(')');
                    break;
                }
            }
        }
        return text.toString();
    }

    private static void violation(String text) {
        violations.add(text);
        String kind = text.replaceAll(" \\(at [^()]*\\([^()]*\\)\\)", "").replaceAll("0x[0-9a-f]+", "0x?")
                .replaceAll("(?<![a-z])\\d+", "N");
        KINDS.merge(kind, 1, Integer::sum);
    }

    private static void print(String where, boolean all) {
        int lines = all ? Math.min(PRINTED_LINES, violations.size()) : 1;
        for (int i = 0; i < lines; i++) {
            System.out.println("VIOLATION in " + where + ": " + violations.get(i));
        }
        if (violations.size() > lines) {
            System.out.println("  and " + (violations.size() - lines) + " more");
        }
    }
}
