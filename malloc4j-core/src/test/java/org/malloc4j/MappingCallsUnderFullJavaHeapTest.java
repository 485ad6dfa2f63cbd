package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.malloc4j.internal.Os;

/**
 * The calls that change mappings ({@code mmap}, {@code madvise}, {@code munmap}) allocate nothing
 * on the Java heap once the first heap is made, however many a heap makes: the JDK makes a method
 * handle's own code at its 128th call, and a heap whose 128th {@code madvise} met a full Java heap
 * failed it, and every one after until that code was made, with an {@link OutOfMemoryError}. The
 * purger's return of a run of holes in pages in use failed so after the pages had taken the memory
 * as returned, and it stayed counted as committed once every region was unmapped
 * ({@link JavaHeapExhaustionTest}'s remote frees, about one run in 30).
 */
class MappingCallsUnderFullJavaHeapTest {
    @Test
    void mappingCallsPastTheHandlesCustomizationNeverMeetAFullJavaHeap() throws Exception {
        ChildJvm.Result result = ChildJvm.run(FullJavaHeap.JVM_OPTIONS, Program.class);
        assertEquals(0, result.exitCode(), result.output());
        assertEquals(List.of("failed: 0 of " + Program.CALLS), result.output().lines().toList(), result.output());
    }

    /** Makes each mapping call {@link #CALLS} times, the Java heap full. */
    static final class Program {
        static final int CALLS = 200;

        public static void main(String[] args) {
            Os.checkAvailable();
            long pages = Os.reserve(CALLS * (long) Os.OS_PAGE_SIZE, false);
            FullJavaHeap.fill();
            int failed = 0;
            for (int i = 0; i < CALLS; i++) {
                long page = pages + (long) i * Os.OS_PAGE_SIZE;
                try {
                    Os.decommit(page, Os.OS_PAGE_SIZE);
                    Os.release(page, Os.OS_PAGE_SIZE);
                    Os.reserve(0, false);
                } catch (OutOfMemoryError e) {
                    failed++;
                }
            }
            FullJavaHeap.empty();
            System.out.println("failed: " + failed + " of " + CALLS);
        }
    }
}
