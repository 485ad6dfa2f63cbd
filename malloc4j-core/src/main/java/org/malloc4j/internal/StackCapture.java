package org.malloc4j.internal;

import java.security.CodeSource;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Captures the caller's stack for reports, leaving out malloc4j's own frames (and the FFM default
 * methods that call into it), so the first frame is the user's call site.
 */
public final class StackCapture {
    /** The most frames a report keeps per stack, unless the program's frame lies deeper. */
    static final int MAX_FRAMES = 24;
    /** The most frames a capture walks to find the program's frame below the JDK's. */
    static final int MAX_SEARCH = 1024;
    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);

    /**
     * {@link #below} as a function, linked as this class initializes, which the first heap does:
     * not at a checked heap's first malloc, where a full Java heap would fail the linking for every
     * later capture.
     */
    private static final Function<Stream<StackWalker.StackFrame>, StackTraceElement[]> BELOW = StackCapture::below;
    /** Where malloc4j's classes were loaded from: a frame of a class from there is ours. */
    private static final CodeSource OWN_CODE = StackCapture.class.getProtectionDomain().getCodeSource();

    private StackCapture() {
    }

    /**
     * @return the stack of the current thread below malloc4j, innermost first: {@value #MAX_FRAMES}
     *     frames, or more when the program's frame ({@link #callSite}) lies deeper, down to it
     *     (at most {@value #MAX_SEARCH})
     */
    public static StackTraceElement[] capture() {
        try {
            return WALKER.walk(BELOW);
        } catch (InternalError e) {
            throw javaHeapFullIn(e);
        }
    }

    /**
     * The JDK's stack walk reports a full Java heap met inside it as an {@link InternalError}
     * around the {@link OutOfMemoryError} (through reflection's InvocationTargetException): a
     * malloc or free whose capture meets one throws the {@code OutOfMemoryError}, as any other
     * call of the heap that runs out of Java memory does.
     *
     * @return {@code e} if no {@code OutOfMemoryError} caused it
     */
    private static Error javaHeapFullIn(InternalError e) {
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            if (cause instanceof OutOfMemoryError full) {
                return full;
            }
        }
        return e;
    }

    /**
     * A loop rather than a stream pipeline: a checked heap captures a stack at every malloc and
     * free, and the pipeline's objects cost as much as a frame.
     */
    private static StackTraceElement[] below(Stream<StackWalker.StackFrame> frames) {
        List<StackTraceElement> kept = new ArrayList<>(MAX_FRAMES);
        boolean program = false;
        Iterator<StackWalker.StackFrame> it = frames.iterator();
        while (it.hasNext() && kept.size() < MAX_SEARCH && (kept.size() < MAX_FRAMES || !program)) {
            StackWalker.StackFrame frame = it.next();
            if (kept.isEmpty() && isOwn(frame)) {
                continue;
            }
            StackTraceElement element = frame.toStackTraceElement();
            program |= !isPlatform(element);
            kept.add(element);
        }
        return kept.toArray(new StackTraceElement[0]);
    }

    /**
     * @return the program's frame that called into malloc4j: the first outside malloc4j and the
     *     JDK (a {@code forEach(heap::free)} goes through the JDK's {@code forEach}), else (a
     *     thread with no frame of the program's, a parallel stream's worker) the first outside
     *     malloc4j; null if there is none
     */
    public static StackTraceElement callSite() {
        return callSite(capture());
    }

    /**
     * @param stack frames outside malloc4j, innermost first, as {@link #capture} gives them
     * @return the program's frame among them, as {@link #callSite} chooses it; null if {@code stack} is empty
     */
    public static StackTraceElement callSite(StackTraceElement[] stack) {
        return stack.length > 0 ? stack[callSiteIndex(stack)] : null;
    }

    /** @return the index in a non-empty {@code stack} of its {@link #callSite(StackTraceElement[])} */
    static int callSiteIndex(StackTraceElement[] stack) {
        for (int i = 0; i < stack.length; i++) {
            if (!isPlatform(stack[i])) {
                return i;
            }
        }
        return 0;
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
        return className.startsWith("org.malloc4j.") && OWN.get(frame.getDeclaringClass());
    }

    /**
     * Whether a class of malloc4j's packages is malloc4j's own, not a user's class in the same
     * package (tests, say): worked out once a class, since comparing code sources compares URLs.
     */
    private static final ClassValue<Boolean> OWN = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            if (type.getModule().isNamed()) {
                return type.getModule() == StackCapture.class.getModule();
            }
            CodeSource code = type.getProtectionDomain().getCodeSource();
            return OWN_CODE != null && code != null && OWN_CODE.getLocation().equals(code.getLocation());
        }
    };

    static {
        // One walk as the first heap is made, which initializes this class: the JDK's classes
        // behind a stack walk (StackStreamFactory and those nested in it) initialize at the
        // process's first walk, and one that met a full Java heap failed every later walk, so
        // every later checked malloc of the process (a SAMPLED heap whose first sampled malloc met
        // a full Java heap: every later sampled malloc failed with a NoClassDefFoundError).
        capture();
    }
}
