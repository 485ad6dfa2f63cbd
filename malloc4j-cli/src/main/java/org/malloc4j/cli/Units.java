package org.malloc4j.cli;

import java.util.Locale;

/** How the terminal report writes numbers: bytes in binary units, percentages, thousands. */
final class Units {
    private static final String[] BYTE_UNITS = {"B", "KiB", "MiB", "GiB", "TiB"};

    private Units() {
    }

    /** @return {@code bytes} as {@code 512 B}, {@code 1.5 KiB}, {@code 24.0 MiB} */
    static String bytes(long bytes) {
        if (Math.abs(bytes) < 1024) {
            return bytes + " B";
        }
        double value = bytes;
        int unit = 0;
        while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, BYTE_UNITS[unit]);
    }

    /** @return a ratio as a percentage with one decimal, {@code 97.3%} */
    static String percent(double ratio) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * ratio);
    }

    /** @return a count with thousands separators, {@code 1,611,432} */
    static String count(long count) {
        return String.format(Locale.ROOT, "%,d", count);
    }

    /** @return {@code 1 trace}, {@code 2 traces}: a count and a noun that takes an {@code s} in the plural */
    static String plural(long count, String noun) {
        return plural(count, noun, noun + "s");
    }

    /** @return {@code 1 pass}, {@code 0 passes}: a count and the noun's singular or plural */
    static String plural(long count, String singular, String plural) {
        return count + " " + (count == 1 ? singular : plural);
    }

    /** @return operations per second as thousands with separators, {@code 12,345} (Kops/s) */
    static String kops(double opsPerSecond) {
        return count(Math.round(opsPerSecond / 1000));
    }

    /** @return a value from 0 to 1 with two decimals, {@code 0.87} */
    static String fraction(double value) {
        return String.format(Locale.ROOT, "%.2f", value);
    }
}
