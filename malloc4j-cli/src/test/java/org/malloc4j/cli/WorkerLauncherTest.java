package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A worker JVM that dies says how, and never takes its parent down with it. */
class WorkerLauncherTest {
    /** An option that clashes with the worker's -XX:+UseSerialGC: the JVM stops before it runs any code. */
    static final Map<String, String> OTHER_COLLECTOR = Map.of("JAVA_TOOL_OPTIONS", "-XX:+UseG1GC");

    @AfterEach
    void restoreTheEnvironment() {
        WorkerLauncher.testEnvironment = Map.of();
    }

    @Test
    void aWorkerThatDiesWhileItsInputIsStillBeingWrittenReportsItsExitCodeAndLastOutput() {
        WorkerLauncher.testEnvironment = Map.of("glibc", OTHER_COLLECTOR);
        // far more than a pipe holds (64 KiB), so the worker dies while the parent still writes to it
        TraceSource trace = TraceSource.bundled("malloclab/" + "x".repeat(200) + ".rep.gz");
        List<TraceSource> traces = Collections.nCopies(2_000, trace);
        StringWriter err = new StringWriter();

        WorkerLauncher.Run run = new WorkerLauncher(1, new PrintWriter(err))
                .run("glibc", traces, WorkerLauncher.MIN_HEAP_MIB, false, p -> { });

        assertNull(run.status());
        assertTrue(run.results().isEmpty());
        assertEquals(1, run.exitCode());
        assertTrue(run.lastOutput().contains("Multiple garbage collectors selected"), run.lastOutput().toString());
        String reason = run.stopped("before it opened the allocator");
        assertTrue(reason.startsWith("the worker JVM exited with code 1 before it opened the allocator; "), reason);
        assertTrue(reason.endsWith("Multiple garbage collectors selected"), reason);
        // what the worker printed still reaches the user as it comes
        assertTrue(err.toString().contains("Multiple garbage collectors selected"), err.toString());
    }

    @Test
    void aWorkerThatDiesWithAJavaStackTraceIsReportedByItsExceptionNotItsFrames() {
        // the JVM cannot make its class loader, and prints an Error and its cause with their frames
        WorkerLauncher.testEnvironment = Map.of("glibc",
                Map.of("JAVA_TOOL_OPTIONS", "-Djava.system.class.loader=org.malloc4j.NoSuchLoader"));

        WorkerLauncher.Run run = new WorkerLauncher(1, new PrintWriter(new StringWriter()))
                .run("glibc", TraceFinder.bundled(), WorkerLauncher.MIN_HEAP_MIB, false, p -> { });

        String reason = run.stopped("before it opened the allocator");
        assertTrue(reason.contains("java.lang.Error: org.malloc4j.NoSuchLoader"), reason);
        assertTrue(reason.contains("Caused by: java.lang.ClassNotFoundException: org.malloc4j.NoSuchLoader"), reason);
        assertFalse(run.lastOutput().stream().anyMatch(line -> line.startsWith("at ")), reason);
    }
}
