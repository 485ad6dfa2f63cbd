package org.malloc4j.cli;

import java.lang.foreign.Linker;
import java.util.Locale;

/**
 * How a worker links the native allocators' {@code malloc}, {@code realloc} and {@code free}
 * ({@code replay --downcalls}).
 *
 * <p>{@link #CRITICAL}, the default, links them with {@link Linker.Option#critical critical(false)}:
 * no thread-state transition, the fastest way Java can call C, and so the strictest comparison.
 * {@link #STANDARD} links them with no option, as the JDK's Javadoc of {@code critical} asks for a
 * function that is not "extremely short" in all cases: a {@code malloc} may map memory or wait for a
 * lock, and a thread in a critical call holds up every safepoint until it returns. Each call then
 * pays the thread-state transition, about 5 ns here (tcmalloc, mixed sizes: 18.7 ns a pair against
 * 9.4, {@code PairBenchmark -p size=mixed -f 2}): what a Java program that follows the JDK's rule pays.
 */
enum DowncallLinkage {
    CRITICAL(Linker.Option.critical(false)),
    STANDARD();

    /** The linkage this process links the allocators it opens with; set once by the worker. */
    private static volatile DowncallLinkage selected = CRITICAL;

    private final Linker.Option[] options;

    DowncallLinkage(Linker.Option... options) {
        this.options = options;
    }

    /** @return the options to link a malloc-family function with */
    Linker.Option[] options() {
        return options.clone();
    }

    /** @return the name {@code --downcalls} takes: {@code critical} or {@code standard} */
    String option() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** @return what the report says of it */
    String description() {
        return this == CRITICAL
                ? "critical FFM downcalls (Linker.Option.critical(false))"
                : "standard FFM downcalls (no linker option)";
    }

    /**
     * @param option {@code critical} or {@code standard}, in any case
     * @return the linkage it names
     * @throws IllegalArgumentException naming the values allowed, if it names none
     */
    static DowncallLinkage of(String option) {
        for (DowncallLinkage linkage : values()) {
            if (linkage.option().equalsIgnoreCase(option)) {
                return linkage;
            }
        }
        throw new IllegalArgumentException("--downcalls must be critical or standard, got '" + option + "'");
    }

    /**
     * Makes {@code linkage} the one {@link #selected()} gives. Only allocators linked later take
     * it: each adapter links its functions once per process, at its first use, which is why a
     * worker selects before it opens its one allocator.
     */
    static void select(DowncallLinkage linkage) {
        selected = linkage;
    }

    /** @return the linkage this process links allocators with */
    static DowncallLinkage selected() {
        return selected;
    }
}
