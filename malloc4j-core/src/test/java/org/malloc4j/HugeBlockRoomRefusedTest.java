package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Where the OS will not reserve the room a huge block that realloc grows asks for (a small
 * address-space limit, strict overcommit), the block goes without it, and the heap's kept
 * mappings (of freed huge blocks) do not stand in the way: the program below runs in a JVM under
 * {@code ulimit -v}, with about 1.5 GiB of address space left to the heap.
 */
class HugeBlockRoomRefusedTest {
    private static final long MIB = 1 << 20;
    /** The child JVM's address-space limit, in KiB; the JVM itself takes about 1.3 GiB of it. */
    private static final long LIMIT_KIB = 3_000_000;

    /**
     * A buffer grown by realloc to a size whose room the OS refuses, freed, and grown again to that
     * size: the second one reuses the first one's kept mapping, instead of being refused for the
     * address space that mapping holds.
     */
    @Test
    void aBlockGrownWithoutRoomReusesTheKeptMappingOfItsSize() throws Exception {
        assertEquals("ok", run("realloc"));
    }

    /**
     * A buffer grown by realloc with its room, freed, and a block of its size malloc'd: the freed
     * block's mapping (twice its size) cannot hold it, and goes back to the OS so that the new
     * one can be mapped, instead of the malloc failing with the address space held for nothing.
     */
    @Test
    void aMallocTheOsRefusesGetsTheAddressSpaceOfAFreedGrownBlock() throws Exception {
        assertEquals("ok", run("malloc"));
    }

    private static String run(String scenario) throws IOException, InterruptedException {
        assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "no bash to set the address-space limit");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String command = "ulimit -v " + LIMIT_KIB + " && exec \"$0\" -Xmx128m -XX:CompressedClassSpaceSize=64m"
                + " -XX:ReservedCodeCacheSize=64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"
                + " --enable-native-access=ALL-UNNAMED -cp \"$1\" \"$2\" " + LIMIT_KIB + " " + scenario;
        Process process = new ProcessBuilder(List.of("/bin/bash", "-c", command, java,
                System.getProperty("java.class.path"), Grow.class.getName()))
                .redirectErrorStream(true)
                .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the program did not finish");
        assumeTrue(!output.contains("SKIP") && !output.contains("insufficient memory"),
                "this OS does not refuse the room under the limit:\n" + output);
        assertEquals(0, process.exitValue(), output);
        return output.strip();
    }

    /** Grows huge blocks by realloc in a JVM whose address space is limited. */
    static final class Grow {
        public static void main(String[] args) throws IOException {
            long free = Long.parseLong(args[0]) * 1024 - addressSpace();
            try (Heap heap = Heap.builder().name("room refused").purgeDelay(Duration.ofHours(1)).build()) {
                System.out.println(switch (args[1]) {
                    case "realloc" -> reallocAgain(heap, free);
                    case "malloc" -> mallocAfter(heap, free);
                    default -> throw new IllegalArgumentException(args[1]);
                });
            }
        }

        /** The block fits in what is free, twice it does not. */
        private static String reallocAgain(Heap heap, long free) {
            long size = free * 6 / 10 / MIB * MIB;
            MemorySegment first = grown(heap, size);
            if (heap.stats().reservedBytes() >= 2 * size) {
                return "SKIP: the room was reserved: " + heap.stats();
            }
            heap.free(first);
            long mmaps = heap.stats().mmapCalls();
            MemorySegment block = heap.tryMalloc(MIB);
            block.set(JAVA_LONG, 0, 42);
            MemorySegment again = heap.tryRealloc(block, size);
            if (again.address() == 0) {
                return "refused, with a kept mapping of " + size + " bytes: " + heap.stats().toText();
            }
            if (again.get(JAVA_LONG, 0) != 42) {
                return "contents lost";
            }
            HeapStats stats = heap.stats();
            if (stats.reservedBytes() > size + 64 * MIB || stats.mmapCalls() > mmaps + 1) {
                return "the kept mapping was not reused: " + stats.toText();
            }
            heap.free(again);
            return "ok";
        }

        /** Twice the block fits in what is free, three times it does not. */
        private static String mallocAfter(Heap heap, long free) {
            long size = free * 4 / 10 / MIB * MIB;
            MemorySegment first = grown(heap, size);
            if (heap.stats().reservedBytes() < 2 * size) {
                return "SKIP: the room was refused: " + heap.stats();
            }
            heap.free(first);
            MemorySegment block = heap.tryMalloc(size);
            if (block.address() == 0) {
                return "refused, with a kept mapping of " + 2 * size + " bytes: " + heap.stats().toText();
            }
            block.set(JAVA_LONG, size - 8, 42);
            heap.free(block);
            heap.trim();
            HeapStats stats = heap.stats();
            if (stats.committedBytes() != 0 || stats.reservedBytes() != 0) {
                return "left after trim: " + stats.toText();
            }
            return "ok";
        }

        private static MemorySegment grown(Heap heap, long size) {
            MemorySegment block = heap.malloc(MIB);
            return heap.realloc(block, size);
        }

        /** @return the bytes of address space this JVM holds now */
        private static long addressSpace() throws IOException {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmSize:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
            throw new IllegalStateException("no VmSize in /proc/self/status");
        }
    }
}
