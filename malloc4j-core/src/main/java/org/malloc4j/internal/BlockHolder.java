package org.malloc4j.internal;

import java.util.Objects;

/**
 * What holds blocks of a heap on its user's behalf: a scope, bump arena, fixed-size pool or
 * growable array, one instance for each. Reports name it; a leak report tells two holders of one
 * name apart (two pools made in a loop) by the instance, so each holder makes its own.
 */
public final class BlockHolder {
    private final String name;

    /** @param name how reports name the holder: {@code FixedSizePool 'nodes'}, {@code a BumpArena} */
    public BlockHolder(String name) {
        this.name = Objects.requireNonNull(name, "name");
    }

    /** @return how reports name the holder */
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name;
    }
}
