package org.malloc4j.cli;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Names fitted to a column of the terminal table, and kept apart. A name as long as the column or
 * longer loses its middle, {@code ~} standing for it: names of one family share their start and
 * differ at their end ({@code allocation-t~ction-run-0001}, {@code ...-0002}). Names that differ
 * only in the middle would cut alike: traces of one file name in two folders, named by their paths.
 * Those show instead what lies between the start and the end they share.
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
                tellApart(alike, indent);
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

    /**
     * Shows names that cut alike by what lies between the start and the end they all share, each
     * with the shared end's last characters where there is room. Should two still show alike (a
     * long middle cut in its own middle), each gets a number.
     */
    private void tellApart(List<String> alike, int indent) {
        int shortest = alike.stream().mapToInt(String::length).min().orElseThrow();
        // Every middle keeps a character at least, so that no name shows as a bare cut mark.
        int from = Math.max(indent, Math.min(commonStart(alike), shortest - 1));
        int end = Math.max(0, Math.min(commonEnd(alike), shortest - from - 1));
        String head = alike.get(0).substring(0, indent) + (from > indent ? String.valueOf(CUT) : "");
        int room = width - 1 - head.length();
        int longestMiddle = alike.stream().mapToInt(name -> name.length() - from - end).max().orElseThrow();
        String sharedEnd = alike.get(0).substring(alike.get(0).length() - end);
        String tail = end == 0 ? "" : CUT + sharedEnd.substring(end - Math.clamp(room - 1 - longestMiddle, 0, end));
        Map<String, String> shown = new HashMap<>();
        Set<String> taken = new HashSet<>();
        boolean clash = false;
        for (String name : alike) {
            String middle = name.substring(from, name.length() - end);
            String fitted = head + cut(middle, room - tail.length() + 1) + tail;
            clash |= !taken.add(fitted);
            shown.put(name, fitted);
        }
        for (int i = 0; i < alike.size(); i++) {
            String name = alike.get(i);
            String number = "#" + (i + 1);
            apart.put(name, clash ? cut(name, width - number.length()) + number : shown.get(name));
        }
    }

    private static int commonStart(List<String> names) {
        String first = names.get(0);
        int common = first.length();
        for (String other : names) {
            int i = 0;
            while (i < common && i < other.length() && first.charAt(i) == other.charAt(i)) {
                i++;
            }
            common = i;
        }
        return common;
    }

    private static int commonEnd(List<String> names) {
        return commonStart(names.stream().map(name -> new StringBuilder(name).reverse().toString()).toList());
    }
}
