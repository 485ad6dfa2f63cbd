package org.malloc4j.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import org.malloc4j.CheckMode;
import org.malloc4j.HeapStats;

/**
 * A diagnostic, not a test: replays CS:APP {@code .rep} traces on a fresh {@link HeapCore} each,
 * samples the footprint ({@code committed + metadata}, as {@code malloc4j replay} does) after every
 * allocating request, and at the peak breaks the footprint down into where it goes.
 *
 * <pre>
 * java -cp malloc4j-core/target/classes:malloc4j-core/target/test-classes \
 *     org.malloc4j.internal.FootprintBreakdown [--delay-ms N] [--fill] [--classes] TRACE...
 * </pre>
 *
 * Columns, in KiB and as a share of the peak footprint:
 * <ul>
 *   <li>{@code live}: requested bytes of live blocks at that moment;
 *   <li>{@code ifrag}: usable minus requested of live small and medium blocks (class rounding);
 *   <li>{@code freeIn}: free blocks below the bump pointer of pages with live blocks;
 *   <li>{@code tail}: committed bytes past the bump pointer of pages with live blocks;
 *   <li>{@code spare}: committed bytes of empty pages a thread heap keeps;
 *   <li>{@code poolS}, {@code poolL}: committed bytes of retired pages in the pool (pages of
 *       blocks, spans of large blocks), waiting for the purge;
 *   <li>{@code lslack}: a large block's usable minus requested (rounding to 4 KiB);
 *   <li>{@code lroom}: a large page's committed bytes past its usable size;
 *   <li>{@code huge}: committed bytes of huge blocks minus their requested sizes;
 *   <li>{@code meta}: the metadata estimate.
 * </ul>
 */
public final class FootprintBreakdown {
    private static final long KIB = 1024;
    /** {@code -DfillFirst=true}: with --time, the first pass writes every block, as the replay's checked pass does. */
    private static final boolean FILL_FIRST = Boolean.getBoolean("fillFirst");
    /** {@code -Dverbose=true}: with --time, a line per pass. */
    private static final boolean VERBOSE = Boolean.getBoolean("verbose");

    /** The parts of a footprint, in bytes. */
    static final class Parts {
        long footprint;
        long committed;
        long live;
        long ifrag;
        long freeIn;
        long tail;
        long spare;
        long poolSmall;
        long poolLarge;
        long largeSlack;
        long largeRoom;
        long huge;
        long meta;
        /** Not part of the footprint: bytes of free blocks inside pages that went back to the OS. */
        long holes;
        long metaRegions;
        long metaPages;
        int pages;
        int regions;
        int op;
        long[] classCommitted = new long[SizeClasses.COUNT];
        long[] classUsed = new long[SizeClasses.COUNT];
        long[] classFree = new long[SizeClasses.COUNT];
        long[] classTail = new long[SizeClasses.COUNT];
        long[] classSpare = new long[SizeClasses.COUNT];
        int[] classPages = new int[SizeClasses.COUNT];

        long accounted() {
            return live + ifrag + freeIn + tail + spare + poolSmall + poolLarge + largeSlack + largeRoom + huge + meta;
        }
    }

    private final HeapCore core;
    private final List<Region> regions;
    private final List<Region> hugeRegions;
    private final RingDeque<Page> pool;
    private final Field sliceOwner;

    @SuppressWarnings("unchecked")
    private FootprintBreakdown(HeapCore core) throws ReflectiveOperationException {
        this.core = core;
        this.regions = (List<Region>) field(SpanAllocator.class, "regions").get(core.spans);
        this.hugeRegions = (List<Region>) field(SpanAllocator.class, "hugeRegions").get(core.spans);
        this.pool = (RingDeque<Page>) field(SpanAllocator.class, "pool").get(core.spans);
        this.sliceOwner = field(Region.class, "sliceOwner");
    }

    private static Field field(Class<?> type, String name) throws NoSuchFieldException {
        Field f = type.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }

    /** The page-level breakdown; {@code live} and {@code ifrag} come from the caller. */
    Parts walk(long footprint, long metadata, long liveRequested, long usableMinusRequested)
            throws IllegalAccessException {
        Parts p = new Parts();
        p.footprint = footprint;
        p.meta = metadata;
        p.committed = core.spans.committed.get();
        p.live = liveRequested;
        IdentityHashMap<Page, Boolean> pooled = new IdentityHashMap<>();
        for (Page page : pool.toList()) {
            pooled.put(page, Boolean.TRUE);
        }
        long largeUsableMinusRequested = 0;
        p.regions = regions.size();
        for (Region region : regions) {
            p.metaRegions += region.metadataBytes();
            Page[] owners = (Page[]) sliceOwner.get(region);
            for (int s = 0; s < owners.length; s++) {
                Page page = owners[s];
                if (page == null || page.firstSlice != s) {
                    continue;
                }
                if (pooled.containsKey(page)) {
                    if (page.isSingle()) {
                        p.poolLarge += page.commitEnd;
                    } else {
                        p.poolSmall += page.commitEnd;
                    }
                    continue;
                }
                if (!page.active) {
                    continue; // released: slices free, nothing committed
                }
                p.pages++;
                p.metaPages += page.metadataCharged;
                if (page.isSingle()) {
                    p.largeSlack += page.largeUsable - page.largeRequested;
                    largeUsableMinusRequested += page.largeUsable - page.largeRequested;
                    p.largeRoom += page.commitEnd - page.largeUsable;
                    continue;
                }
                int c = page.sizeClass;
                p.classPages[c]++;
                p.classCommitted[c] += page.commitEnd;
                p.holes += page.holeBytes;
                if (page.used == 0) {
                    p.spare += page.commitEnd - page.holeBytes;
                    p.classSpare[c] += page.commitEnd - page.holeBytes;
                    continue;
                }
                long touched = (long) page.bump * page.blockSize;
                long usedBytes = (long) page.used * page.blockSize;
                p.freeIn += touched - usedBytes - page.holeBytes;
                p.tail += page.commitEnd - touched;
                p.classUsed[c] += usedBytes;
                p.classFree[c] += touched - usedBytes - page.holeBytes;
                p.classTail[c] += page.commitEnd - touched;
            }
        }
        for (Region region : hugeRegions) {
            p.metaRegions += region.metadataBytes();
            Page page = region.pageAt(region.base);
            if (page != null && page.active) {
                p.huge += page.commitEnd - page.largeRequested;
                largeUsableMinusRequested += page.commitEnd - page.largeRequested;
            }
        }
        p.ifrag = usableMinusRequested - largeUsableMinusRequested;
        // live counts requested bytes of all blocks, large and huge too
        return p;
    }

    // ---- the replay ----

    record Trace(String name, int numIds, byte[] kinds, int[] ids, long[] sizes, long peakLive) {
    }

    static Trace read(Path file) throws IOException {
        InputStream in = Files.newInputStream(file);
        if (file.toString().endsWith(".gz")) {
            in = new GZIPInputStream(in);
        }
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
            String line;
            StringBuilder all = new StringBuilder();
            while ((line = r.readLine()) != null) {
                all.append(line).append('\n');
            }
            String[] words = all.toString().trim().split("\\s+");
            int w = 0;
            w++; // suggested heap size
            int numIds = Integer.parseInt(words[w++]);
            int numOps = Integer.parseInt(words[w++]);
            w++; // weight
            byte[] kinds = new byte[numOps];
            int[] ids = new int[numOps];
            long[] sizes = new long[numOps];
            long[] liveSize = new long[numIds];
            long live = 0;
            long peak = 0;
            for (int op = 0; op < numOps; op++) {
                char k = words[w++].charAt(0);
                int id = Integer.parseInt(words[w++]);
                kinds[op] = (byte) k;
                ids[op] = id;
                if (k != 'f') {
                    sizes[op] = Long.parseLong(words[w++]);
                    live += sizes[op] - liveSize[id];
                    liveSize[id] = sizes[op];
                    peak = Math.max(peak, live);
                } else {
                    live -= liveSize[id];
                    liveSize[id] = 0;
                }
            }
            String name = file.getFileName().toString().replaceFirst("\\.rep(\\.gz)?$", "");
            return new Trace(name, numIds, kinds, ids, sizes, peak);
        }
    }

    /**
     * Replays {@code trace}; returns the breakdown at the (first) peak footprint, and with
     * {@code detailAtOp >= 0} the per-class detail at that op instead.
     */
    static Parts replay(Trace trace, long delayMillis, boolean fill) throws Exception {
        HeapCore core = HeapCore.create(new HeapConfig("diag", Long.MAX_VALUE, Duration.ofMillis(delayMillis),
                CheckMode.FAST, HeapConfig.DEFAULT_SAMPLE_INTERVAL, 0, null, true));
        FootprintBreakdown diag = new FootprintBreakdown(core);
        long[] address = new long[trace.numIds()];
        long[] size = new long[trace.numIds()];
        long live = 0;
        HeapStats base = core.stats();
        long baseFootprint = base.committedBytes() + base.metadataBytes();
        long peak = -1;
        Parts best = null;
        try {
            for (int op = 0; op < trace.kinds().length; op++) {
                int id = trace.ids()[op];
                long n = trace.sizes()[op];
                switch (trace.kinds()[op]) {
                    case 'a' -> {
                        address[id] = core.malloc(n, true);
                        size[id] = n;
                        live += n;
                        if (fill) {
                            core.segment(address[id], n).fill((byte) id);
                        }
                    }
                    case 'r' -> {
                        address[id] = core.realloc(address[id], n, true);
                        live += n - size[id];
                        if (fill && n > size[id]) {
                            core.segment(address[id] + size[id], n - size[id]).fill((byte) id);
                        }
                        size[id] = n;
                    }
                    default -> {
                        core.free(address[id]);
                        address[id] = 0;
                        live -= size[id];
                        size[id] = 0;
                        continue;
                    }
                }
                HeapStats s = core.stats();
                long footprint = s.committedBytes() + s.metadataBytes() - baseFootprint;
                if (footprint > peak) {
                    peak = footprint;
                    best = diag.walk(footprint, s.metadataBytes() - base.metadataBytes(), live,
                            s.usableBytes() - s.requestedBytes());
                    best.op = op;
                }
            }
        } finally {
            for (int id = 0; id < address.length; id++) {
                if (address[id] != 0) {
                    core.free(address[id]);
                }
            }
            core.close();
        }
        return best;
    }

    /** Replays {@code trace} without sampling; prints the best time of {@code passes} and the OS calls. */
    static String time(Trace trace, long delayMillis, int passes) {
        HeapCore core = HeapCore.create(new HeapConfig("time", Long.MAX_VALUE, Duration.ofMillis(delayMillis),
                CheckMode.FAST, HeapConfig.DEFAULT_SAMPLE_INTERVAL, 0, null, true));
        long[] address = new long[trace.numIds()];
        long best = Long.MAX_VALUE;
        long bestCpu = Long.MAX_VALUE;
        long first = -1;
        long firstMadvise = 0;
        byte[] kinds = trace.kinds();
        int[] ids = trace.ids();
        long[] sizes = trace.sizes();
        for (int pass = 0; pass < passes; pass++) {
            long start = System.nanoTime();
            long startCpu = threadCpuNanos();
            for (int op = 0; op < kinds.length; op++) {
                int id = ids[op];
                switch (kinds[op]) {
                    case 'a' -> address[id] = core.malloc(sizes[op], true);
                    case 'r' -> address[id] = core.realloc(address[id], sizes[op], true);
                    default -> core.free(address[id]);
                }
                if (pass == 0 && FILL_FIRST && kinds[op] != 'f' && sizes[op] > 0) {
                    core.segment(address[id], sizes[op]).fill((byte) id);
                }
            }
            best = Math.min(best, System.nanoTime() - start);
            if (VERBOSE) {
                System.out.printf(Locale.ROOT, "   pass %d: %.2f ms, madvise %d%n", pass, (System.nanoTime() - start) / 1e6,
                        core.stats().madviseCalls());
            }
            if (first < 0) {
                first = System.nanoTime() - start;
                firstMadvise = core.stats().madviseCalls();
            }
            bestCpu = Math.min(bestCpu, threadCpuNanos() - startCpu);
            for (int id = 0; id < address.length; id++) {
                if (address[id] != 0 && kinds.length > 0) {
                    // blocks live at the end: none in balanced traces
                }
            }
        }
        HeapStats s = core.stats();
        core.close();
        return String.format(Locale.ROOT, "%-20s %8.0f Kops/s (cpu %8.0f, first pass %8.0f)  madvise %d (first pass %d)  mmap %d  purged %d KiB", trace.name(),
                kinds.length / (best / 1e6), kinds.length / (bestCpu / 1e6), kinds.length / (first / 1e6), s.madviseCalls(), firstMadvise, s.mmapCalls(), s.purgedBytes() / 1024);
    }

    /** This thread's time on a CPU, from {@code /proc/thread-self/schedstat}. */
    private static long threadCpuNanos() {
        try {
            String text = Files.readString(Path.of("/proc/thread-self/schedstat"));
            return Long.parseLong(text.substring(0, text.indexOf(' ')));
        } catch (IOException e) {
            return System.nanoTime();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--time")) {
            for (int i = 1; i < args.length; i++) {
                Trace trace = read(Path.of(args[i]));
                time(trace, HeapConfig.DEFAULT_PURGE_DELAY.toMillis(), 1);
            }
            for (int i = 1; i < args.length; i++) {
                System.out.println(time(read(Path.of(args[i])), HeapConfig.DEFAULT_PURGE_DELAY.toMillis(),
                        Integer.getInteger("passes", 5)));
            }
            return;
        }
        long delay = HeapConfig.DEFAULT_PURGE_DELAY.toMillis();
        boolean fill = false;
        boolean classes = false;
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--delay-ms" -> delay = Long.parseLong(args[++i]);
                case "--fill" -> fill = true;
                case "--classes" -> classes = true;
                default -> {
                    Path path = Path.of(args[i]);
                    if (Files.isDirectory(path)) {
                        try (var stream = Files.list(path)) {
                            stream.filter(f -> f.toString().endsWith(".rep") || f.toString().endsWith(".rep.gz"))
                                    .sorted().forEach(files::add);
                        }
                    } else {
                        files.add(path);
                    }
                }
            }
        }
        // warm up the JIT a little, so timing-dependent purges are closer to a warmed replay
        System.out.printf(Locale.ROOT, "%-20s %7s %6s | %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s | %5s %4s%n",
                "trace", "peakFP", "util", "live", "ifrag", "freeIn", "tail", "spare", "poolS", "poolL",
                "lslack", "lroom", "huge", "meta", "pages", "regs");
        double sumUtil = 0;
        for (Path file : files) {
            Trace trace = read(file);
            Parts p = replay(trace, delay, fill);
            double util = (double) trace.peakLive() / p.footprint;
            sumUtil += util;
            long f = p.footprint;
            System.out.printf(Locale.ROOT, "%-20s %7s %5.1f%% | %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s | %5d %4d%s%n",
                    trace.name(), kib(f), 100.0 * util, pct(p.live, f), pct(p.ifrag, f), pct(p.freeIn, f),
                    pct(p.tail, f), pct(p.spare, f), pct(p.poolSmall, f), pct(p.poolLarge, f), pct(p.largeSlack, f),
                    pct(p.largeRoom, f), pct(p.huge, f), pct(p.meta, f), p.pages, p.regions,
                    p.accounted() == f ? "" : "  (accounted " + kib(p.accounted()) + ")");
            System.out.printf(Locale.ROOT, "%-20s %7s %6s | %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s %6s | peakLive %s at op %d, metaRegions %s metaPages %s, holes %s%n",
                    "", "", "KiB", kib(p.live), kib(p.ifrag), kib(p.freeIn), kib(p.tail), kib(p.spare),
                    kib(p.poolSmall), kib(p.poolLarge), kib(p.largeSlack), kib(p.largeRoom), kib(p.huge), kib(p.meta),
                    kib(trace.peakLive()), p.op, kib(p.metaRegions), kib(p.metaPages), kib(p.holes));
            if (classes) {
                for (int c = 0; c < SizeClasses.COUNT; c++) {
                    if (p.classPages[c] == 0) {
                        continue;
                    }
                    System.out.printf(Locale.ROOT, "    class %2d (%6d B): %3d pages, committed %6s KiB, used %6s, free %6s, tail %6s, spare %6s%n",
                            c, SizeClasses.blockSize(c), p.classPages[c], kib(p.classCommitted[c]), kib(p.classUsed[c]),
                            kib(p.classFree[c]), kib(p.classTail[c]), kib(p.classSpare[c]));
                }
            }
        }
        if (files.size() > 1) {
            System.out.printf(Locale.ROOT, "mean utilization %.1f%%%n", 100.0 * sumUtil / files.size());
        }
    }

    private static String kib(long bytes) {
        return String.format(Locale.ROOT, "%.1f", bytes / (double) KIB);
    }

    private static String pct(long part, long whole) {
        return String.format(Locale.ROOT, "%.1f%%", 100.0 * part / whole);
    }
}
