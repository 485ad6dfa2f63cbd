package org.malloc4j.bench;

import java.util.Arrays;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * How fast this machine runs plain Java code right now, independently of any allocator: a probe
 * that {@code compare} runs before and after its suite, so that a reader can tell whether the
 * machine changed speed between the first benchmark and the last.
 *
 * <p>Why: on the 2-core VMs the suite is measured on, the same compiled code runs at two speeds
 * that switch every few seconds to minutes. A 64-byte malloc+free pair took 14.0–14.5 ns in some
 * stretches and 20.5–22.5 ns in others within one JVM, with no recompilation and with the page, its
 * tables and the thread heap at the same addresses. In the same stretches the loop below, which
 * uses no allocator, took 1.15 ns per iteration and 1.38–1.61 ns, while a chain of dependent
 * shifts (which uses one execution unit at a time) barely moved (1.70 against 1.75–1.78 ns). A
 * slowdown that hits code able to run several instructions at once, and not a serial chain, points
 * to the processor core being shared with work outside this JVM, which a VM's guest cannot see.
 * Ratios from one run stay comparable only while the speed holds (malloc4j-bench/README.md, "Two
 * speeds").
 *
 * <p>The kernel stores to and loads from a 4 KiB array with independent arithmetic beside, so it
 * keeps several execution units busy, as an allocator's fast path does. It runs in slices of
 * {@value #SLICE_MILLIS} ms; the result is the median and the range of the slices' ns per
 * iteration.
 */
public final class MachineSpeed {
    static final int SLICE_MILLIS = 100;
    private static final int ITERATIONS_PER_CALL = 1 << 20;

    private static final byte[] TABLE = new byte[4096];
    /** Keeps the kernel's result live, so the JIT cannot drop the loop. */
    static long sink;

    private MachineSpeed() {
    }

    /** The median and range of one probe, in ns per kernel iteration. */
    record Result(double medianNs, double fastestNs, double slowestNs, int slices) {
        /** @return the probe as one line of text */
        String describe() {
            return String.format(Locale.ROOT, "%.3f ns per iteration (median of %d slice%s of %d ms; %.3f-%.3f)",
                    medianNs, slices, slices == 1 ? "" : "s", SLICE_MILLIS, fastestNs, slowestNs);
        }
    }

    /** The command line, parsed by picocli; {@link #call} probes and prints the line. */
    @Command(name = "MachineSpeed", usageHelpWidth = 100, description = {
        "How fast this machine runs plain Java code right now, independently of any allocator: one line with the"
                + " median and range of 100 ms slices' ns per iteration of a kernel that uses no allocator.",
        "Exit: 0, or 2 for bad arguments."})
    static final class Options extends ToolCommand {
        double seconds;

        @Parameters(arity = "0..1", paramLabel = "SECONDS", defaultValue = "3", description = "How long to probe,"
                + " more than 1 and at most 3600 (default: ${DEFAULT-VALUE}); the first second warms the JIT up and"
                + " is not counted.")
        void seconds(double value) {
            // NaN, which picocli reads as a double, fails the test too.
            if (!(value > 1 && value <= 3600)) {
                throw refused("SECONDS must be more than 1 and at most 3600, got " + value);
            }
            seconds = value;
        }

        @Override
        public Integer call() {
            Result result = probe(1000, (long) ((seconds - 1) * 1000));
            out().println("machine speed: " + result.describe());
            return 0;
        }
    }

    public static void main(String[] args) {
        ToolCommandLine.exit(new Options(), args);
    }

    /** Runs the kernel for {@code warmUpMillis} untimed, then times it for {@code millis}. */
    static Result probe(long warmUpMillis, long millis) {
        runFor(warmUpMillis);
        return summarize(runFor(millis));
    }

    /** @return the median and range of {@code slices}, ns per iteration each (sorts them) */
    static Result summarize(double[] slices) {
        Arrays.sort(slices);
        return new Result(Median.of(slices), slices[0], slices[slices.length - 1], slices.length);
    }

    /** @return the ns per iteration of each slice run in {@code millis} ms */
    private static double[] runFor(long millis) {
        int count = (int) Math.max(1, millis / SLICE_MILLIS);
        double[] nsPerIteration = new double[count];
        for (int s = 0; s < count; s++) {
            long sliceEnd = System.nanoTime() + SLICE_MILLIS * 1_000_000L;
            long iterations = 0;
            long start = System.nanoTime();
            long now;
            do {
                sink += kernel(ITERATIONS_PER_CALL);
                iterations += ITERATIONS_PER_CALL;
                now = System.nanoTime();
            } while (now < sliceEnd);
            nsPerIteration[s] = (double) (now - start) / iterations;
        }
        return nsPerIteration;
    }

    private static long kernel(int iterations) {
        byte[] table = TABLE;
        long sum = 0;
        for (int i = 0; i < iterations; i++) {
            int j = (i * 7) & 4095;
            table[j] = (byte) i;
            sum += table[(j + 64) & 4095] + (i ^ (i >>> 3)) * 3;
        }
        return sum;
    }
}
