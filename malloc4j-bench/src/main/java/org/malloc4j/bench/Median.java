package org.malloc4j.bench;

import java.util.Arrays;

/** The median the benchmark tools report: of first touches, machine-speed slices and A/B ratios. */
final class Median {
    private Median() {
    }

    /** @return the median of {@code values} (the mean of the middle two for an even count); not changed */
    static double of(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
