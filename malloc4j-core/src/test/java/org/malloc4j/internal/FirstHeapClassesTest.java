package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

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
}
