package org.malloc4j.cli;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.io.PrintWriter;
import java.lang.invoke.MethodHandle;

/**
 * A one-line progress counter on standard error, rewritten in place ({@code \r}) as the workers
 * report, such as {@code [2/6 glibc] trace 3/12 cp-decl-bal}. It shows only when standard error is
 * a terminal, so logs and pipes get no control characters.
 */
final class Progress {
    private static final int STDERR = 2;
    private static final MethodHandle ISATTY = Downcalls.function(Downcalls.defaultLookup(), "isatty",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private final PrintWriter err;
    private final boolean shown;
    private int width;

    private Progress(PrintWriter err, boolean shown) {
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
    void show(String label, String step) {
        show("[" + label + "] " + step);
    }

    /** Erases the counter. */
    void done() {
        show("");
    }

    private void show(String line) {
        if (shown) {
            err.print("\r" + line + " ".repeat(Math.max(0, width - line.length())) + (line.isEmpty() ? "\r" : ""));
            err.flush();
            width = line.length();
        }
    }

    private static boolean stderrIsTerminal() {
        try {
            return (int) ISATTY.invokeExact(STDERR) == 1;
        } catch (Throwable t) {
            return false;
        }
    }
}
