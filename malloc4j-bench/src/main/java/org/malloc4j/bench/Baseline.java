package org.malloc4j.bench;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a benchmark method as a baseline of its class: {@link RatioTable} prints every peer's score
 * divided by the baseline's score (same class, same parameters). A class may have several baselines
 * (malloc4j's raw and segment APIs); {@link #value()} orders their columns.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Baseline {
    /** @return the column of this baseline in the ratio table, 1 first */
    int value() default 1;
}
