package org.malloc4j.cli;

/**
 * An allocator that cannot run here, such as a native library that is not installed. The replay
 * skips it and reports the reason, which is this exception's message.
 */
public final class AllocatorUnavailableException extends Exception {
    private static final long serialVersionUID = 1L;

    /** @param reason why the allocator cannot run, for the report */
    public AllocatorUnavailableException(String reason) {
        super(reason);
    }

    /**
     * @param reason why the allocator cannot run, for the report
     * @param cause the failure behind it
     */
    public AllocatorUnavailableException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
