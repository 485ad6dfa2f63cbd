package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A trace of many ids replays correctly: the replay's own per-id arrays (about 56 bytes an id) do
 * not fit the smallest worker heap, so the worker gets one sized for them, and neither that trace
 * nor the others of its worker are FAILED for want of Java heap.
 */
class ManyIdsTest {
    /** 10 million ids need about 700 MiB of the replay's own arrays, more than a 512 MiB heap holds. */
    private static final int OPS = 10_000_000;

    @Test
    void aTraceOfManyIdsAndTheTracesAfterItReplayCorrectly(@TempDir Path dir) throws Exception {
        Path many = dir.resolve("many.rep.gz");
        // every id is allowed, one is used: the replay's arrays are as large as the header says
        try (BufferedWriter out = new BufferedWriter(new OutputStreamWriter(
                new GZIPOutputStream(Files.newOutputStream(many), 1 << 16), StandardCharsets.US_ASCII))) {
            out.write("0\n" + OPS + "\n" + OPS + "\n1\n");
            for (int op = 0; op < OPS; op += 2) {
                out.write("a 0 16\nf 0\n");
            }
        }
        Files.writeString(dir.resolve("small.rep"), "0\n1\n2\n1\na 0 16\nf 0\n");

        MainTest.Run run = MainTest.run("replay", "--allocator", "malloc4j", "--repeat", "1", "--json", "-",
                dir.toString());

        JsonNode report = new ObjectMapper().readTree(run.out());
        List<String> results = new ArrayList<>();
        report.get("results").forEach(result -> results.add(result.get("trace").asText() + " "
                + result.get("status").asText()));
        assertEquals(List.of("many ok", "small ok"), results, run.out());
        assertEquals(0, run.exitCode(), run.err());
    }
}
