package org.malloc4j.cli;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Help;
import picocli.CommandLine.Help.TextTable;
import picocli.CommandLine.IHelpSectionRenderer;

/**
 * Renders a command's description as picocli does, except that a line starting with a numbered
 * item ({@code "  1. "}) wraps under its own text rather than at the left margin, as the exit code
 * list and the options do: a long item then reads as one block.
 */
final class NumberedDescription implements IHelpSectionRenderer {
    /** The item's marker: indentation, a number, a dot and a space. */
    private static final Pattern ITEM = Pattern.compile("^( *\\d+\\. )(.*)$", Pattern.DOTALL);

    @Override
    public String render(Help help) {
        String[] lines = help.commandSpec().usageMessage().description();
        if (lines.length == 0) {
            return "";
        }
        int width = help.commandSpec().usageMessage().width();
        StringBuilder text = new StringBuilder();
        for (String line : lines) {
            text.append(render(help, width, line));
        }
        return text.toString();
    }

    private static String render(Help help, int width, String line) {
        Matcher item = ITEM.matcher(line);
        Help.Column[] columns = item.matches()
                ? new Help.Column[] {new Help.Column(item.group(1).length(), 0, Help.Column.Overflow.TRUNCATE),
                    new Help.Column(width - item.group(1).length(), 0, Help.Column.Overflow.WRAP)}
                : new Help.Column[] {new Help.Column(width, 0, Help.Column.Overflow.WRAP)};
        TextTable table = TextTable.forColumns(help.colorScheme(), columns);
        // Set before a row is added, which is when the table wraps: picocli's own description wraps
        // at the margin, where a table indents wrapped lines by 2.
        table.indentWrappedLines = 0;
        table.setAdjustLineBreaksForWideCJKCharacters(
                help.commandSpec().usageMessage().adjustLineBreaksForWideCJKCharacters());
        if (item.matches()) {
            table.addRowValues(item.group(1), item.group(2));
        } else {
            table.addRowValues(line);
        }
        return table.toString();
    }
}
