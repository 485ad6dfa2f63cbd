package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every trace of the shared collection ({@code ../shared/traces} next to the repository) replayed
 * through malloc4j once, verified as the CS:APP driver verifies (alignment, no overlap, contents kept
 * across realloc and until free); no timing, no footprint. Skipped where the collection is absent.
 */
class AllTracesTest {
    /** The collection, found from the module folder (Maven's working directory) or the repository root. */
    private static Path sharedTraces() {
        for (Path candidate : List.of(Path.of("../../shared/traces"), Path.of("../shared/traces"))) {
            if (Files.isDirectory(candidate)) {
                return candidate.toAbsolutePath().normalize();
            }
        }
        return null;
    }

    @Test
    void malloc4jReplaysEverySharedTraceCorrectly() throws Exception {
        Path traces = sharedTraces();
        assumeTrue(traces != null, "../shared/traces is not there");
        List<TraceSource> sources = TraceFinder.find(List.of(traces)).sources();
        List<String> failures = new ArrayList<>();
        try (ReplayAllocator malloc4j = AllocatorCatalog.open("malloc4j"); FreshThreads threads = new FreshThreads()) {
            TraceReplayer verifier = new TraceReplayer(malloc4j, 0, false, threads);
            for (TraceSource source : sources) {
                TraceResult result = verifier.replay(source.read());
                if (!result.isOk()) {
                    failures.add(source.display() + ": " + result.failure());
                }
            }
        }
        assertTrue(sources.size() >= 52, "only " + sources.size() + " traces in " + traces);
        assertEquals(List.of(), failures);
    }
}
