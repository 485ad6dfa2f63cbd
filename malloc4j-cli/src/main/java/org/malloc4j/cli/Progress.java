package org.malloc4j.cli;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.io.PrintWriter;
import java.lang.invoke.MethodHandle;

/**
 * A one-line progress counter on standard error, rewritten in place ({@code \r}) as the workers
 * report, such as {@code [2/6 glibc] trace 3/12 cp-decl-bal}. It shows only when standard error is
 * a terminal, so logs and pipes get no control characters. Other lines for standard error go
 * through {@link #println}, which keeps them from being written over the counter. Its methods may
 * be called from several threads.
 */
final class Progress {
    private static final int STDERR = 2;
    private static final MethodHandle ISATTY = Downcalls.function(Downcalls.defaultLookup(), "isatty",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private final PrintWriter err;
    private final boolean shown;
    private String line = "";

    /**
     * @param err standard error
     * @param shown whether to show the counter: only on a terminal
     */
    Progress(PrintWriter err, boolean shown) {
        this.err = err;
        this.shown = shown;
    }

    /** @return a counter on {@code err}, shown only if the process's standard error is a terminal */
    static Progress onTerminal(PrintWriter err) {
        return new Progress(err, stderrIsTerminal());
    }

    /**
     * @param label which allocator, such as {@code 2/6 glibc}
     * @param step what it does, such as {@code trace 3/12 cp-decl-bal}
     */
    synchronized void show(String label, String step) {
        show("[" + label + "] " + Units.printable(step));
    }

    /** Erases the counter. */
    synchronized void done() {
        show("");
    }

    /**
     * Writes a line on standard error, such as a worker's "Picked up JAVA_TOOL_OPTIONS: ...": the
     * counter is erased first, so that the line starts at the left edge and none of the counter is
     * left after it, then shown again under it.
     *
     * @param text the line, without its line break
     */
    synchronized void println(String text) {
        String counter = line;
        if (!counter.isEmpty()) {
            show("");
        }
        err.println(text);
        err.flush();
        if (!counter.isEmpty()) {
            show(counter);
        }
    }

    /** Replaces the counter's line with {@code next}, the empty string erasing it. */
    private void show(String next) {
        if (shown) {
            String blanks = " ".repeat(Math.max(0, line.length() - next.length()));
            err.print("\r" + next + blanks + (next.isEmpty() ? "\r" : ""));
            err.flush();
        }
        line = next;
    }

    private static boolean stderrIsTerminal() {
        try {
            return (int) ISATTY.invokeExact(STDERR) == 1;
        } catch (Throwable t) {
            return false;
        }
    }
}
