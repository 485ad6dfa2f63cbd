package org.malloc4j.internal;

import java.security.CodeSource;

/**
 * Captures the caller's stack for reports, leaving out malloc4j's own frames (and the FFM default
 * methods that call into it), so the first frame is the user's call site.
 */
public final class StackCapture {
    /** The most frames a report keeps per stack. */
    static final int MAX_FRAMES = 24;
    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);
    /** Where malloc4j's classes were loaded from: a frame of a class from there is ours. */
    private static final CodeSource OWN_CODE = StackCapture.class.getProtectionDomain().getCodeSource();

    private StackCapture() {
    }

    /** @return the stack of the current thread below malloc4j, innermost first */
    public static StackTraceElement[] capture() {
        return WALKER.walk(frames -> frames
                .dropWhile(StackCapture::isOwn)
                .limit(MAX_FRAMES)
                .map(StackWalker.StackFrame::toStackTraceElement)
                .toArray(StackTraceElement[]::new));
    }

    /**
     * @return the program's frame that called into malloc4j: the first outside malloc4j and the
     *     JDK (a {@code forEach(heap::free)} goes through the JDK's {@code forEach}), else the
     *     first outside malloc4j; null if there is none
     */
    public static StackTraceElement callSite() {
        return callSite(capture());
    }

    /**
     * @param stack frames outside malloc4j, innermost first, as {@link #capture} gives them
     * @return the program's frame among them, as {@link #callSite} chooses it; null if {@code stack} is empty
     */
    public static StackTraceElement callSite(StackTraceElement[] stack) {
        for (StackTraceElement element : stack) {
            if (!isPlatform(element)) {
                return element;
            }
        }
        return stack.length > 0 ? stack[0] : null;
    }

    /** Whether {@code element} is a frame of the JDK's own modules (java.*, jdk.*). */
    private static boolean isPlatform(StackTraceElement element) {
        String module = element.getModuleName();
        return module != null && (module.startsWith("java.") || module.startsWith("jdk."));
    }

    private static boolean isOwn(StackWalker.StackFrame frame) {
        String className = frame.getClassName();
        if (className.startsWith("java.lang.foreign.") || className.startsWith("jdk.internal.foreign.")) {
            return true;
        }
        if (!className.startsWith("org.malloc4j.")) {
            return false;
        }
        // malloc4j's own classes, but not a user's classes in the same package (tests, say).
        Class<?> type = frame.getDeclaringClass();
        if (type.getModule().isNamed()) {
            return type.getModule() == StackCapture.class.getModule();
        }
        CodeSource code = type.getProtectionDomain().getCodeSource();
        return OWN_CODE != null && code != null && OWN_CODE.getLocation().equals(code.getLocation());
    }
}
