package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.malloc4j.ChildJvm;
import org.malloc4j.Heap;

/**
 * The first heap loads every class of malloc4j's internals ({@link FirstHeapClasses}): one first
 * loaded in the middle of a heap operation that met a full Java heap failed it halfway.
 */
class FirstHeapClassesTest {
    @Test
    void theFirstHeapLoadsEveryClassOfTheInternals() throws Exception {
        Path classes = Path.of(HeapCore.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path internal = classes.resolve(HeapCore.class.getPackageName().replace('.', '/'));
        Set<String> present;
        try (Stream<Path> files = Files.list(internal)) {
            present = files.map(file -> file.getFileName().toString()).filter(name -> name.endsWith(".class"))
                    .map(name -> name.substring(0, name.length() - ".class".length()))
                    // The compiler's anonymous classes come with their enclosing code; HeapCore runs the list.
                    .filter(name -> !name.matches(".*\\$\\d+.*") && !name.equals("package-info")
                            && !name.equals("HeapCore"))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
        assertTrue(present.contains("RegionMap"), present.toString());
        Set<String> listed = new TreeSet<>(Arrays.asList(FirstHeapClasses.OWN));
        listed.addAll(Arrays.asList(FirstHeapClasses.LOADED_ONLY));
        assertEquals(FirstHeapClasses.OWN.length + FirstHeapClasses.LOADED_ONLY.length, listed.size(), "listed twice");
        assertEquals(present, listed);
    }

    /**
     * The JDK's classes behind a stack walk, which every checked malloc and free makes, initialize
     * with the first heap: a walk that first met a full Java heap failed every later walk of the
     * process (and with them every checked malloc).
     */
    @Test
    void theFirstHeapInitializesTheJdksStackWalk() throws Exception {
        ChildJvm.Result result = ChildJvm.run(List.of("--enable-native-access=ALL-UNNAMED", "-Xlog:class+init=info"),
                MakeAHeap.class);
        assertEquals(0, result.exitCode(), result.output());
        List<String> lines = result.output().lines().toList();
        int made = lines.indexOf("made");
        assertTrue(made > 0, result.output());
        assertTrue(lines.subList(0, made).stream().anyMatch(line -> line.contains("'java/lang/StackStreamFactory'")),
                "StackStreamFactory did not initialize with the first heap:\n" + result.output());
    }

    /** Makes a heap of {@link org.malloc4j.CheckMode#FAST}, which walks no stack, and says so. */
    static final class MakeAHeap {
        public static void main(String[] args) {
            try (Heap heap = Heap.builder().name("program").build()) {
                System.out.println("made");
            }
        }
    }
}
