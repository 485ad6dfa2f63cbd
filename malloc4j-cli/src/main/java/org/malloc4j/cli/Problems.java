package org.malloc4j.cli;

import java.io.EOFException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;

/**
 * Says in words what an exception means, for the one-line messages of the command: no Java class
 * names, no stack traces.
 */
final class Problems {
    private Problems() {
    }

    /**
     * @param problem what was thrown
     * @return what went wrong, with the file it concerns if the exception names one:
     *     {@code /tmp/x: permission denied}
     */
    static String describe(Throwable problem) {
        Throwable cause = unwrap(problem);
        if (cause instanceof FileSystemException e && e.getFile() != null) {
            return Units.path(e.getFile()) + (e.getOtherFile() != null ? " -> " + Units.path(e.getOtherFile()) : "")
                    + ": " + reason(e);
        }
        return reason(cause);
    }

    /**
     * @param problem what was thrown
     * @return what went wrong, without the file: {@code permission denied}, {@code no such file or
     *     folder}, {@code unexpected end of ZLIB input stream}
     */
    static String reason(Throwable problem) {
        Throwable cause = unwrap(problem);
        return switch (cause) {
            case NoSuchFileException e -> "no such file or folder";
            case AccessDeniedException e -> "permission denied";
            case NotDirectoryException e -> "not a folder";
            case FileSystemException e when e.getReason() != null -> lowerFirst(e.getReason());
            case EOFException e when e.getMessage() == null -> "the data ends too early";
            default -> cause.getMessage() != null && !cause.getMessage().isBlank()
                    ? lowerFirst(cause.getMessage())
                    : "an unexpected error (" + cause.getClass().getSimpleName() + ")";
        };
    }

    private static Throwable unwrap(Throwable problem) {
        Throwable cause = problem;
        // an UncheckedIOException, or any wrapper whose message is only its cause's toString()
        while (cause.getCause() != null && (cause instanceof UncheckedIOException
                || cause.getCause().toString().equals(cause.getMessage()))) {
            cause = cause.getCause();
        }
        return cause;
    }

    /** "Unexpected end of ZLIB input stream" reads "unexpected end ..." after a colon. */
    private static String lowerFirst(String text) {
        return text.length() > 1 && Character.isUpperCase(text.charAt(0)) && Character.isLowerCase(text.charAt(1))
                ? text.substring(0, 1).toLowerCase(Locale.ROOT) + text.substring(1)
                : text;
    }
}
