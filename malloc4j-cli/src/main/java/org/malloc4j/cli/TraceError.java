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
     * @return the problem as {@code file:line: problem}, a file name that holds a space (or another
     *     character a shell reads apart) in single quotes: {@code 'my traces/x.rep':3: ...}
     */
    public String message() {
        String shown = Units.path(file);
        return line > 0 ? shown + ":" + line + ": " + problem : shown + ": " + problem;
    }
}
