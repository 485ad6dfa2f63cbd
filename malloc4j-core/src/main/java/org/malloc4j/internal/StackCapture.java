package org.malloc4j.internal;

import java.util.Set;

/**
 * Captures the caller's stack for reports, leaving out malloc4j's own frames (and the FFM default
 * methods that call into it), so the first frame is the user's call site.
 */
public final class StackCapture {
    /** The most frames a report keeps per stack. */
    static final int MAX_FRAMES = 24;
    private static final StackWalker WALKER = StackWalker.getInstance();
    private static final Set<String> API_CLASSES = Set.of(
            "org.malloc4j.Heap", "org.malloc4j.HeapScope", "org.malloc4j.FaultInjection",
            "org.malloc4j.BumpArena", "org.malloc4j.FixedSizePool");

    private StackCapture() {
    }

    /** @return the stack of the current thread below malloc4j, innermost first */
    static StackTraceElement[] capture() {
        return WALKER.walk(frames -> frames
                .dropWhile(frame -> isOwn(frame.getClassName()))
                .limit(MAX_FRAMES)
                .map(StackWalker.StackFrame::toStackTraceElement)
                .toArray(StackTraceElement[]::new));
    }

    /** @return the first frame outside malloc4j, or null if there is none */
    public static StackTraceElement callSite() {
        return WALKER.walk(frames -> frames
                .dropWhile(frame -> isOwn(frame.getClassName()))
                .findFirst()
                .map(StackWalker.StackFrame::toStackTraceElement)
                .orElse(null));
    }

    private static boolean isOwn(String className) {
        return className.startsWith("org.malloc4j.internal.")
                || className.startsWith("java.lang.foreign.")
                || className.startsWith("jdk.internal.foreign.")
                || API_CLASSES.contains(className)
                || className.startsWith("org.malloc4j.Heap$")
                || className.startsWith("org.malloc4j.FaultInjection$");
    }
}
