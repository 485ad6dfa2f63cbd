package org.malloc4j.cli;

/**
 * An allocator that did something wrong while replaying a trace: which request (its op number,
 * from 1, and the request as the trace spells it) and what was wrong.
 */
public final class ReplayFailure extends Exception {
    private static final long serialVersionUID = 1L;

    private final long opNumber;
    private final String request;
    private final String problem;

    /**
     * @param opIndex the request's index in the trace, from 0
     * @param request the request as the trace spells it, such as {@code r 17 640}
     * @param problem what was wrong
     */
    public ReplayFailure(int opIndex, String request, String problem) {
        super("op " + (opIndex + 1L) + " (" + request + "): " + problem);
        this.opNumber = opIndex + 1L;
        this.request = request;
        this.problem = problem;
    }

    /** @return the failing request's number, from 1 */
    public long opNumber() {
        return opNumber;
    }

    /** @return the failing request as the trace spells it */
    public String request() {
        return request;
    }

    /** @return what was wrong */
    public String problem() {
        return problem;
    }
}
