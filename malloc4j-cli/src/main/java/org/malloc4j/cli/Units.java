package org.malloc4j.cli;

import java.nio.file.Path;
import java.util.Locale;

/**
 * How the terminal report writes numbers and names: bytes in binary units, percentages, thousands,
 * paths quoted, and names with their control characters escaped.
 */
final class Units {
    /** Enough for any {@code long}: 2<sup>63</sup> bytes are 8 EiB. */
    private static final String[] BYTE_UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private Units() {
    }

    /**
     * @return {@code bytes} as {@code 512 B}, {@code 1.5 KiB}, {@code 24.0 MiB}, {@code 1010 MiB}:
     *     at most 9 characters, so that a value fits a table column with a space before it
     */
    static String bytes(long bytes) {
        if (Math.abs(bytes) < 1024) {
            return bytes + " B";
        }
        double value = bytes;
        int unit = 0;
        // from 1023.5 on, a value would round to 1024 of its unit: it is shown as 1.0 of the next
        while (Math.abs(value) >= 1023.5 && unit < BYTE_UNITS.length - 1) {
            value /= 1024;
            unit++;
        }
        // 1000.0 KiB and up would take 10 characters
        return String.format(Locale.ROOT, Math.abs(value) >= 999.95 ? "%.0f %s" : "%.1f %s", value, BYTE_UNITS[unit]);
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

    /**
     * @param path a file or folder, as given or found, which may hold any character
     * @return the path as a shell reads it back, so that a message shows where it ends: as it is if
     *     every character is a letter, a digit or one of {@code _@%+=:,./-}, else in single quotes,
     *     each quote in it as {@code '\''}: {@code 'my traces/x.rep'}, {@code ''}
     */
    static String path(String path) {
        boolean plain = !path.isEmpty()
                && path.chars().allMatch(c -> Character.isLetterOrDigit(c) || "_@%+=:,./-".indexOf(c) >= 0);
        return plain ? path : "'" + path.replace("'", "'\\''") + "'";
    }

    /** @return {@code path} quoted as {@link #path(String)} quotes it */
    static String path(Path path) {
        return path(path.toString());
    }

    /**
     * @param text a name or a message, such as a file name, which may hold any character
     * @return the text with each control character (C0, DEL, C1) as {@code \xNN}, as parse errors
     *     quote a token, so that a name cannot move the cursor or recolour the terminal. Backslashes
     *     stay as they are: the text may hold a token quoted that way already.
     */
    static String printable(String text) {
        StringBuilder shown = new StringBuilder(text.length());
        text.chars().forEach(c -> shown.append(c < ' ' || (c >= 0x7F && c <= 0x9F)
                ? String.format(Locale.ROOT, "\\x%02x", c) : String.valueOf((char) c)));
        return shown.toString();
    }
}
