package org.malloc4j.cli;

/**
 * A trace that is not replayed: it could not be read or parsed, or needs more memory than the
 * machine has.
 *
 * @param file the trace file as given
 * @param line the line of the problem, from 1 (0 if the file could not be read at all)
 * @param problem what is wrong
 */
public record TraceError(String file, long line, String problem) {
    /** @return the error of a trace that does not parse */
    static TraceError of(TraceFormatException e) {
        return new TraceError(e.file(), e.line(), e.problem());
    }

    /**
     * @param file the trace file as given
     * @return the error of a trace whose parse ran out of the JVM's heap (about 17 bytes a request),
     *     saying how much heap there was and how to give more
     */
    public static TraceError tooLargeForHeap(String file) {
        return new TraceError(file, 0, "too large for this JVM's heap ("
                + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MiB; parsing takes about 17 bytes a "
                + "request): give it more, for example JAVA_TOOL_OPTIONS=-Xmx1g");
    }

    /**
     * @return the problem as {@code file:line: problem}, a file name that holds a space (or another
     *     character a shell reads apart) in single quotes: {@code 'my traces/x.rep':3: ...}
     */
    public String message() {
        String shown = Units.path(file);
        return line > 0 ? shown + ":" + line + ": " + problem : shown + ": " + problem;
    }
}
