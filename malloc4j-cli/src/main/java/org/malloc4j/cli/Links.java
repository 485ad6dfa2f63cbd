package org.malloc4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/** Symbolic links the command is given: where a chain of them ends. */
final class Links {
    /** As many links as Linux follows in one path before it gives up (ELOOP). */
    private static final int MAX_HOPS = 40;

    private Links() {
    }

    /**
     * @param link a path, usually a symbolic link
     * @return the path the chain of links starting at {@code link} ends at, which is no link (it need
     *     not exist), or null for a chain too long to follow (a loop) or one that cannot be read
     */
    static Path end(Path link) {
        Path path = link;
        for (int hops = 0; hops < MAX_HOPS && Files.isSymbolicLink(path); hops++) {
            try {
                path = path.toAbsolutePath().getParent().resolve(Files.readSymbolicLink(path));
            } catch (IOException | InvalidPathException e) {
                return null;
            }
        }
        return Files.isSymbolicLink(path) ? null : path;
    }
}
