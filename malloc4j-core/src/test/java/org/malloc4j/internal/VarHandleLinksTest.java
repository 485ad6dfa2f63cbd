package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.malloc4j.ChildJvm;
import org.malloc4j.FullJavaHeap;
import org.malloc4j.Heap;

/**
 * The JVM links a class's {@code VarHandle} call of each type (access mode, and the types of its
 * arguments and result) at its first run, and the link allocates on the Java heap: a call that
 * first ran under a full Java heap threw an {@link OutOfMemoryError} from the middle of a heap
 * operation (a checked free lost its block so, in the page lookup every free makes). The first
 * heap makes each class's calls of every type once ({@code linkVarHandleCalls}, called from
 * {@link HeapCore}'s initialization).
 */
class VarHandleLinksTest {
    /** A call of a VarHandle's access mode in javap's listing of a class: the mode and its descriptor. */
    private static final Pattern CALL = Pattern.compile(
            "invokevirtual .*// Method java/lang/invoke/VarHandle\\.(\\w+):(\\S+)");
    /** Where javap's listing of a method's code starts: its declaration. */
    private static final Pattern METHOD = Pattern.compile("^  (\\S.*\\(.*\\)( throws .*)?|static \\{\\});$");
    /** Classes whose calls are left to their first run, and why. */
    private static final Set<String> LEFT = Set.of(
            // Reads the errno of a failed madvise, for its exception's message: it allocates an
            // arena for the call anyway, and a failure becomes the message's "unknown".
            "org.malloc4j.internal.Os");

    /**
     * Every type of {@code VarHandle} call in malloc4j's classes is made by its class's
     * {@code linkVarHandleCalls}, which {@link HeapCore}'s initialization calls: a call added
     * later, of a new type, fails this until it is linked with the others.
     */
    @Test
    void everyVarHandleCallOfEveryClassIsLinkedWithTheFirstHeap() throws Exception {
        Path classes = Path.of(HeapCore.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> names;
        try (Stream<Path> files = Files.walk(classes)) {
            names = files.map(classes::relativize).map(Path::toString).filter(name -> name.endsWith(".class"))
                    .map(name -> name.substring(0, name.length() - ".class".length()).replace('/', '.')).sorted()
                    .toList();
        }
        assertTrue(names.contains(HeapCore.class.getName()), classes.toString());
        Map<String, Set<String>> unlinked = new TreeMap<>();
        List<String> linkers = new ArrayList<>();
        for (String name : names) {
            Map<String, Set<String>> calls = callsByMethod(classes, name);
            Set<String> all = new TreeSet<>();
            calls.values().forEach(all::addAll);
            if (all.isEmpty() || LEFT.contains(name)) {
                continue;
            }
            linkers.add(name);
            all.removeAll(calls.getOrDefault("static void linkVarHandleCalls()", Set.of()));
            if (!all.isEmpty()) {
                unlinked.put(name, all);
            }
        }
        assertEquals(Map.of(), unlinked, "VarHandle calls no linkVarHandleCalls makes");
        List<String> notCalled = new ArrayList<>();
        String initCode = javap(classes, HeapCore.class.getName());
        String staticInit = initCode.substring(initCode.indexOf("  static {};"));
        for (String linker : linkers) {
            if (!staticInit.contains("Method " + linker.replace('.', '/') + ".linkVarHandleCalls:()V")) {
                notCalled.add(linker);
            }
        }
        assertEquals(List.of(), notCalled, "linkVarHandleCalls that HeapCore's initialization does not call");
        assertTrue(linkers.contains(RegionMap.class.getName()), linkers.toString());
    }

    /**
     * Once the first heap is made, the region and page lookups a free makes run under a full Java
     * heap: the page lookup's first run, in a checked heap's free under a full Java heap, threw
     * halfway through the free. The program looks neither up before it fills the Java heap.
     */
    @Test
    void aFreesLookupsRunUnderAFullJavaHeapOnceTheFirstHeapIsMade() throws Exception {
        ChildJvm.Result result = ChildJvm.run(FullJavaHeap.JVM_OPTIONS, LookupProgram.class);
        assertEquals(0, result.exitCode(), result.output());
        assertEquals(List.of("failed: 0 of " + LookupProgram.CALLS + ", found: true"), result.output().lines().toList(),
                result.output());
    }

    /** Makes a heap and a block, fills the Java heap, then looks the block's page and region up. */
    static final class LookupProgram {
        static final int CALLS = 100;

        public static void main(String[] args) {
            try (Heap heap = Heap.builder().name("program").build()) {
                long block = heap.mallocAddress(48);
                Page page = null;
                int failed = 0;
                FullJavaHeap.fill();
                for (int i = 0; i < CALLS; i++) {
                    try {
                        page = RegionMap.slicePage(block, RegionMap.lookup(block).core);
                    } catch (OutOfMemoryError e) {
                        failed++;
                    }
                }
                FullJavaHeap.empty();
                Region region = RegionMap.lookup(block);
                System.out.println("failed: " + failed + " of " + CALLS + ", found: "
                        + (page != null && page == region.pageAt(block)));
                heap.freeAddress(block);
            }
        }
    }

    /** @return the VarHandle calls of each method of class {@code name}, by its declaration in javap's listing */
    private static Map<String, Set<String>> callsByMethod(Path classes, String name) {
        Map<String, Set<String>> calls = new TreeMap<>();
        String method = "";
        for (String line : javap(classes, name).lines().toList()) {
            if (METHOD.matcher(line).matches()) {
                method = line.strip().replaceAll(";$", "").replaceAll("^(private|public|protected) ", "");
                continue;
            }
            Matcher call = CALL.matcher(line);
            if (call.find()) {
                calls.computeIfAbsent(method, m -> new TreeSet<>()).add(call.group(1) + call.group(2));
            }
        }
        return calls;
    }

    private static String javap(Path classes, String name) {
        ToolProvider javap = ToolProvider.findFirst("javap").orElseThrow();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = javap.run(new PrintWriter(out), new PrintWriter(err), "-c", "-p", "-cp", classes.toString(), name);
        assertEquals(0, exit, err.toString());
        return out.toString();
    }
}
