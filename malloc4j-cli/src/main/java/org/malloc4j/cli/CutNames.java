package org.malloc4j.cli;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Names fitted to a column of the terminal table, and kept apart. A name as long as the column or
 * longer loses its middle, {@code ~} standing for it: names of one family share their start and
 * differ at their end ({@code allocation-t~ction-run-0001}, {@code ...-0002}). Names that differ
 * only in the middle would cut alike: traces of one file name in two folders, named by their paths.
 * Those show instead from where they start to differ, with their ends.
 */
final class CutNames {
    private static final char CUT = '~';

    private final int width;
    private final Map<String, String> apart = new HashMap<>();

    /**
     * @param names what the column shows, each with its indent
     * @param width the column's width; a fitted name takes at most {@code width - 1} characters
     * @param indent the leading characters of each name that are its indent, always kept
     */
    CutNames(Collection<String> names, int width, int indent) {
        this.width = width;
        Map<String, List<String>> byCut = new HashMap<>();
        for (String name : new LinkedHashSet<>(names)) {
            byCut.computeIfAbsent(cut(name, width), key -> new ArrayList<>()).add(name);
        }
        for (List<String> alike : byCut.values()) {
            if (alike.size() > 1) {
                for (String name : alike) {
                    apart.put(name, fromDifference(name, differsFrom(name, alike, indent), indent));
                }
            }
        }
    }

    /** @return {@code name} fitted to the column, told apart from every other name given */
    String of(String name) {
        String shown = apart.get(name);
        return shown != null ? shown : cut(name, width);
    }

    /** @return {@code value} cut in the middle to {@code width - 1} characters if it is {@code width} or longer */
    static String cut(String value, int width) {
        if (value.length() < width) {
            return value;
        }
        int kept = width - 2;
        return value.substring(0, kept / 2) + CUT + value.substring(value.length() - (kept - kept / 2));
    }

    /** @return where {@code name} first differs from the name of {@code alike} that shares the most of its start */
    private static int differsFrom(String name, List<String> alike, int indent) {
        int from = indent;
        for (String other : alike) {
            if (!other.equals(name)) {
                from = Math.max(from, commonStart(name, other));
            }
        }
        return from;
    }

    private static int commonStart(String a, String b) {
        int n = Math.min(a.length(), b.length());
        int i = 0;
        while (i < n && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return i;
    }

    /** @return the indent, then {@code name} from {@code from} on, cut in its middle to fit */
    private String fromDifference(String name, int from, int indent) {
        String head = name.substring(0, indent) + (from > indent ? String.valueOf(CUT) : "");
        String rest = name.substring(from);
        int room = width - 1 - head.length();
        if (rest.length() <= room) {
            return head + rest;
        }
        // The difference at the front of what is kept, the name's end after it.
        int front = (room - 1) / 2;
        return head + rest.substring(0, front) + CUT + rest.substring(rest.length() - (room - 1 - front));
    }
}
