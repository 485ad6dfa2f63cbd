package org.malloc4j.junit;

import java.util.List;

/**
 * The frames a test's allocation stack has below the test's own: JUnit's engine, reflection and the
 * launcher of the build tool or IDE. A heap records up to 24 frames a block, so a test's few frames
 * came followed by some twenty of the runner's in every report the extension printed; it leaves them
 * out. The frame that called into the test (the first frame of a stack) always stays.
 */
final class RunnerFrames {
    /** Where the runner's classes live: JUnit, reflection, and the launchers that start JUnit. */
    private static final List<String> RUNNER_PACKAGES = List.of("org.junit.", "jdk.internal.reflect.",
            "java.lang.reflect.", "org.apache.maven.surefire.", "org.gradle.", "com.intellij.rt.",
            "org.eclipse.jdt.internal.junit");

    private RunnerFrames() {
    }

    /** @return {@code frames} up to the first frame of the runner after the first frame */
    static List<StackTraceElement> cut(List<StackTraceElement> frames) {
        for (int i = 1; i < frames.size(); i++) {
            if (isRunner(frames.get(i).getClassName())) {
                return frames.subList(0, i);
            }
        }
        return frames;
    }

    /**
     * @return a report's text with the runner's frames left out of each stack it lists: the lines
     *     {@code "    #N frame"} from the first of the runner's (after a stack's first) to the
     *     stack's end
     */
    static String cut(String report) {
        StringBuilder text = new StringBuilder(report.length());
        boolean cutting = false;
        for (String line : report.split("\n", -1)) {
            String frame = frameOf(line);
            if (frame == null) {
                cutting = false;
            } else if (!cutting && !line.trim().startsWith("#0 ") && isRunner(classAndMethod(frame))) {
                cutting = true;
            }
            if (!cutting) {
                text.append(line).append('\n');
            }
        }
        // split kept the text's end: a text ending in a newline gained one more.
        return text.substring(0, text.length() - 1);
    }

    /** @return the frame a report's line lists ({@code "    #3 a.B.c(B.java:4)"}), or null */
    private static String frameOf(String line) {
        String trimmed = line.stripLeading();
        if (!trimmed.startsWith("#")) {
            return null;
        }
        int space = trimmed.indexOf(' ');
        if (space < 2 || !trimmed.substring(1, space).chars().allMatch(Character::isDigit)) {
            return null;
        }
        return trimmed.substring(space + 1);
    }

    /** @return the class and method of a frame as {@link StackTraceElement#toString()} gives it, without loader or module */
    private static String classAndMethod(String frame) {
        int paren = frame.indexOf('(');
        String name = paren < 0 ? frame : frame.substring(0, paren);
        return name.substring(name.lastIndexOf('/') + 1);
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
