package org.malloc4j.junit;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.malloc4j.MemoryMisuseException;

/**
 * The frames a test's allocation stack has below the test's own: JUnit's engine, reflection, this
 * extension and the launcher of the build tool or IDE. A heap records up to 24 frames a block, so
 * a test's few frames came followed by some twenty of the runner's in every report the extension
 * printed; it leaves them out.
 *
 * <p>A stack that passes through the test's classes (its class, the classes it extends, and the
 * classes those are nested in) keeps every frame up to the last of theirs (the test method, under
 * lambdas and JUnit's own {@code assertDoesNotThrow}); one that does not (a thread the test
 * started) keeps its frames up to the first of the runner's. The first frame always stays.
 */
final class RunnerFrames {
    /** Where the runner's classes live: JUnit, reflection, this extension, and the launchers that start JUnit. */
    private static final List<String> RUNNER_PACKAGES = List.of("org.junit.", "jdk.internal.reflect.",
            "java.lang.reflect.", "org.malloc4j.junit.", "org.apache.maven.surefire.", "org.gradle.",
            "com.intellij.rt.", "org.eclipse.jdt.internal.junit");

    private RunnerFrames() {
    }

    /**
     * @param testClasses the binary names of the test's outermost classes (none if not known)
     * @return {@code frames} without the runner's
     */
    static List<StackTraceElement> cut(List<StackTraceElement> frames, Collection<String> testClasses) {
        List<String> classes = new ArrayList<>(frames.size());
        for (StackTraceElement frame : frames) {
            classes.add(frame.getClassName());
        }
        return frames.subList(0, kept(classes, testClasses));
    }

    /**
     * @return a report's text with the runner's frames left out of each stack it lists: a stack is
     *     a run of lines {@code "    #N frame"}
     */
    static String cut(String report, Collection<String> testClasses) {
        StringBuilder text = new StringBuilder(report.length());
        List<String> stack = new ArrayList<>();
        List<String> classes = new ArrayList<>();
        for (String line : report.split("\n", -1)) {
            String frame = frameOf(line);
            if (frame != null) {
                stack.add(line);
                classes.add(classOf(frame));
                continue;
            }
            appendKept(text, stack, classes, testClasses);
            text.append(line).append('\n');
        }
        appendKept(text, stack, classes, testClasses);
        // split kept the text's end: the last line gained a newline it did not have.
        return text.substring(0, text.length() - 1);
    }

    /**
     * @return a copy of a report the extension fails a test with (an {@link AssertionError} or a
     *     {@link MemoryMisuseException}, and those suppressed in it) with the runner's frames left
     *     out of its text; any other throwable as it is
     */
    static Throwable cut(Throwable problem, Collection<String> testClasses) {
        Throwable copy;
        if (problem.getClass() == AssertionError.class) {
            copy = new AssertionError(cut(problem.getMessage(), testClasses), problem.getCause());
        } else if (problem.getClass() == MemoryMisuseException.class) {
            MemoryMisuseException misuse = (MemoryMisuseException) problem;
            copy = new MemoryMisuseException(misuse.kind(), misuse.address(), cut(misuse.getMessage(), testClasses));
            copy.initCause(misuse.getCause());
        } else {
            return problem;
        }
        copy.setStackTrace(problem.getStackTrace());
        for (Throwable suppressed : problem.getSuppressed()) {
            copy.addSuppressed(cut(suppressed, testClasses));
        }
        return copy;
    }

    private static void appendKept(StringBuilder text, List<String> stack, List<String> classes,
            Collection<String> testClasses) {
        int kept = kept(classes, testClasses);
        for (int i = 0; i < kept; i++) {
            text.append(stack.get(i)).append('\n');
        }
        stack.clear();
        classes.clear();
    }

    /** @return how many of a stack's frames, given by class, to keep */
    private static int kept(List<String> classes, Collection<String> testClasses) {
        for (int i = classes.size() - 1; i >= 0; i--) {
            if (isTests(classes.get(i), testClasses)) {
                return i + 1;
            }
        }
        for (int i = 1; i < classes.size(); i++) {
            if (isRunner(classes.get(i))) {
                return i;
            }
        }
        return classes.size();
    }

    /** @return the frame a report's line lists ({@code "    #3 a.B.c(B.java:4)"}), or null */
    private static String frameOf(String line) {
        String trimmed = line.stripLeading();
        int space = trimmed.indexOf(' ');
        if (!trimmed.startsWith("#") || space < 2 || !trimmed.substring(1, space).chars().allMatch(Character::isDigit)) {
            return null;
        }
        return trimmed.substring(space + 1);
    }

    /** @return the class of a frame as {@link StackTraceElement#toString()} gives it, without loader or module */
    private static String classOf(String frame) {
        int paren = frame.indexOf('(');
        String method = paren < 0 ? frame : frame.substring(0, paren);
        String qualified = method.substring(method.lastIndexOf('/') + 1);
        int dot = qualified.lastIndexOf('.');
        return dot < 0 ? qualified : qualified.substring(0, dot);
    }

    /** @return whether {@code className} is one of {@code testClasses} or nested in one */
    private static boolean isTests(String className, Collection<String> testClasses) {
        for (String testClass : testClasses) {
            if (className.equals(testClass) || className.startsWith(testClass + "$")) {
                return true;
            }
        }
        return false;
    }

    private static boolean isRunner(String className) {
        for (String prefix : RUNNER_PACKAGES) {
            if (className.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }
}
