package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command end to end: workers, table, JSON, exit codes. */
class MainTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SMALL = """
            20000
            6
            12
            1
            a 0 2040
            a 1 2040
            a 2 48
            a 3 4072
            r 2 4072
            a 4 4072
            a 5 4072
            f 0
            f 1
            f 2
            f 3
            f 5
            """;

    @TempDir
    static Path dir;
    static Path traces;

    /** Output of one run. */
    record Run(int exitCode, String out, String err) {
    }

    @BeforeAll
    static void writeTraces() throws Exception {
        traces = Files.createDirectories(dir.resolve("small"));
        Files.writeString(traces.resolve("one.rep"), SMALL);
        Files.writeString(traces.resolve("two.rep"), SMALL.replace("a 4 4072", "a 4 100"));
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exitCode = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(exitCode, out.toString(), err.toString());
    }

    @Test
    void replaysInWorkersAndWritesJson() throws Exception {
        Path json = dir.resolve("report.json");
        Run run = run("replay", "--allocator", "glibc,arena", "--repeat", "2", "--json", json.toString(),
                traces.toString());
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("Utilization"), run.out());
        assertTrue(run.out().lines().allMatch(line -> line.length() <= 120), run.out());

        JsonNode report = JSON.readTree(json.toFile());
        assertEquals(0, report.get("exitCode").asInt());
        assertEquals(2, report.get("repeat").asInt());
        assertEquals(2, report.get("traces").size());
        assertEquals(20_368, report.get("traces").get(0).get("peakLiveBytes").asLong());
        assertEquals(2, report.get("allocators").size());
        assertEquals(4, report.get("results").size());
        for (JsonNode result : report.get("results")) {
            assertEquals("ok", result.get("status").asText());
            for (String field : new String[] {"allocator", "trace", "set", "ops", "peakLiveBytes", "bestSeconds",
                "opsPerSecond", "peakFootprintBytes", "utilization", "index"}) {
                assertTrue(result.hasNonNull(field), field + " missing in " + result);
            }
        }
        JsonNode glibc = report.get("results").get(0);
        assertEquals("glibc", glibc.get("allocator").asText());
        // glibc is the reference of the index: its own throughput term is 0.4
        double utilization = Math.min(1, glibc.get("utilization").asDouble());
        assertEquals(0.6 * utilization + 0.4, glibc.get("index").asDouble(), 1e-9);
        assertEquals(2, report.get("summaries").size());
        assertEquals("all", report.get("summaries").get(0).get("set").asText());
    }

    @Test
    void aTraceThatDoesNotParseIsReportedAndMakesTheRunFail() throws Exception {
        Path mixed = Files.createDirectories(dir.resolve("mixed"));
        Files.writeString(mixed.resolve("good.rep"), SMALL);
        Files.writeString(mixed.resolve("bad.rep"), SMALL.replace("f 3", "f 9"));
        Run run = run("replay", "--allocator", "glibc", "--repeat", "1", "--json", "-", mixed.toString());
        assertEquals(1, run.exitCode(), run.err());
        JsonNode report = JSON.readTree(run.out());
        assertEquals(1, report.get("exitCode").asInt());
        assertEquals(1, report.get("traces").size());
        JsonNode error = report.get("errors").get(0);
        assertTrue(error.get("file").asText().endsWith("bad.rep"));
        assertEquals(15, error.get("line").asInt());
        assertTrue(error.get("problem").asText().startsWith("id 9 out of range"));
        assertEquals("ok", report.get("results").get(0).get("status").asText());
        assertTrue(run.err().contains("bad.rep:15: id 9 out of range"), run.err());
    }

    @Test
    void usageErrorsExitWithTwo() {
        assertEquals(2, run("replay", "--allocator", "dlmalloc", traces.toString()).exitCode());
        assertEquals(2, run("replay", "--repeat", "0", traces.toString()).exitCode());
        assertEquals(2, run("replay", dir.resolve("no-such-trace.rep").toString()).exitCode());
        assertEquals(2, run("replay", "--no-such-option").exitCode());
        assertEquals(2, run().exitCode());
        Run unknown = run("replay", "--allocator", "dlmalloc", traces.toString());
        assertTrue(unknown.err().contains("unknown allocator 'dlmalloc'"), unknown.err());
    }

    @Test
    void helpSaysWhatTheTimedPassesTouch() {
        Run help = run("replay", "--help");
        assertEquals(0, help.exitCode());
        assertTrue(help.out().replaceAll("\\s+", " ").contains("touch no payload byte"), help.out());
    }
}
