package org.malloc4j.bench;

/** A peer cannot run on this machine (its native library is missing or does not load). */
public final class PeerUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PeerUnavailableException(String message) {
        super(message);
    }
}
