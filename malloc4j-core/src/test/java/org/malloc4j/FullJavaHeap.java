package org.malloc4j;

import java.util.ArrayList;
import java.util.List;

/**
 * Ballast for a program run in a JVM of its own ({@link ChildJvm}) with a small Java heap: fills
 * the heap so that the next allocation of a few bytes fails, and frees it again.
 */
public final class FullJavaHeap {
    /** The options of a JVM whose Java heap a program fills: small, and one collector thread. */
    public static final List<String> JVM_OPTIONS = List.of("-Xmx32m", "-XX:+UseSerialGC",
            "--enable-native-access=ALL-UNNAMED");
    private static final List<Object> BALLAST = new ArrayList<>(100_000);

    private FullJavaHeap() {
    }

    /** Fills the Java heap with arrays, ever smaller ones, until not even 8 bytes more fit. */
    public static void fill() {
        for (int chunk = 1 << 20; chunk >= 8; chunk >>= 1) {
            try {
                while (true) {
                    BALLAST.add(new byte[chunk]);
                }
            } catch (OutOfMemoryError e) {
                // the next smaller chunk
            }
        }
    }

    /** Lets go of the last {@code arrays} arrays {@link #fill} took, the smallest: a few bytes of room. */
    public static void loosen(int arrays) {
        for (int i = 0; i < arrays && !BALLAST.isEmpty(); i++) {
            BALLAST.remove(BALLAST.size() - 1);
        }
    }

    /** Lets go of everything {@link #fill} took. */
    public static void empty() {
        BALLAST.clear();
    }
}
