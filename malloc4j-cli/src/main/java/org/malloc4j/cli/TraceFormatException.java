package org.malloc4j.cli;

/**
 * A trace file that does not follow the {@code .rep} format, with where and what: the file, the
 * line (from 1) and the problem. The message reads like a compiler's, {@code file:line: problem}, a
 * file name that holds a space (or another character a shell reads apart) in single quotes.
 */
public final class TraceFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String file;
    private final long line;
    private final String problem;

    /**
     * @param file the trace file as the user named it
     * @param line the line of the problem, from 1
     * @param problem what is wrong, without the file and line
     */
    public TraceFormatException(String file, long line, String problem) {
        super(Units.path(file) + ":" + line + ": " + problem);
        this.file = file;
        this.line = line;
        this.problem = problem;
    }

    /** @return the trace file as the user named it */
    public String file() {
        return file;
    }

    /** @return the line of the problem, from 1 */
    public long line() {
        return line;
    }

    /** @return what is wrong, without the file and line */
    public String problem() {
        return problem;
    }
}
