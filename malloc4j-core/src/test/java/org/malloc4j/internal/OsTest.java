package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.Set;
import org.junit.jupiter.api.Test;

class OsTest {

    @Test
    void theCurrentProcessorIsOneTheMachineHas() {
        // Linux numbers processors from 0; a machine may leave gaps (offline processors), but a
        // number above the count of configured processors by more than a few thousand is nonsense.
        for (int i = 0; i < 1_000; i++) {
            int processor = Os.currentProcessor();
            assertTrue(processor >= 0 && processor < 8192, "processor " + processor);
        }
    }

    @Test
    void virtualThreadsReportTheProcessorsOfTheirCarriers() throws Exception {
        Set<Integer> seen = ConcurrentHashMap.newKeySet();
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 1_000; i++) {
                executor.execute(() -> seen.add(Os.currentProcessor()));
            }
        }
        assertTrue(!seen.isEmpty() && seen.stream().allMatch(p -> p >= 0 && p < 8192), "processors " + seen);
    }
}
