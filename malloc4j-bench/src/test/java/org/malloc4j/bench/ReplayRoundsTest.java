package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplayRoundsTest {
    private static final String HEADER =
            "round        ms  madvise  purged MB  committed peak MB  footprint peak MB  utilization";
    /** A round: its number, ms, madvise calls, MB purged, committed and footprint peaks, and a percentage or '-'. */
    private static final Pattern ROUND = Pattern.compile(
            " +(\\d+) +\\d+\\.\\d\\d +\\d+ +\\d+\\.\\d\\d +\\d+\\.\\d\\d +\\d+\\.\\d\\d +(\\d+\\.\\d%|-)");

    @TempDir
    Path dir;

    private String trace;

    @BeforeEach
    void writeTrace() throws IOException {
        trace = Files.writeString(dir.resolve("small.rep"), "0\n2\n4\n1\na 0 16\na 1 32\nf 0\nf 1\n").toString();
    }

    @Test
    void printsALinePerRoundEightByDefault() {
        assertRounds(8, ToolRun.of(new ReplayRounds.Options(), trace));
        assertRounds(3, ToolRun.of(new ReplayRounds.Options(), trace, "3"));
        assertRounds(2, ToolRun.of(new ReplayRounds.Options(), trace, "2", "60000"));
        assertRounds(1, ToolRun.of(new ReplayRounds.Options(), trace, "1", "0"));
    }

    @Test
    void takesABundledTrace() {
        assertRounds(1, ToolRun.of(new ReplayRounds.Options(), "real/gcc-cc1-O2", "1", "60000"));
    }

    private static void assertRounds(int rounds, ToolRun run) {
        assertEquals(0, run.status(), run.toString());
        List<String> lines = run.out().lines().toList();
        assertEquals(HEADER, lines.get(0));
        assertEquals(rounds + 1, lines.size(), run.out());
        for (int round = 0; round < rounds; round++) {
            var matcher = ROUND.matcher(lines.get(round + 1));
            assertTrue(matcher.matches(), lines.get(round + 1));
            assertEquals(round, Integer.parseInt(matcher.group(1)));
        }
        assertEquals("", run.err());
    }

    @Test
    void roundsBelowOneOrANegativePurgeDelayAreRefusedByName() {
        assertUsageError("rounds must be a whole number of at least 1, got '0'", trace, "0");
        assertUsageError("purge delay in ms must be a whole number of at least 0, got '-1'", trace, "2", "-1");
        assertUsageError("Invalid value for positional parameter at index 1 (ROUNDS): 'abc' is not an int",
                trace, "abc");
        assertUsageError("Invalid value for positional parameter at index 2 (PURGE_DELAY_MS): '1.5' is not an int",
                trace, "2", "1.5");
    }

    @Test
    void aMissingOrExtraArgumentIsAUsageError() {
        assertUsageError("Missing required parameter: 'TRACE'");
        assertUsageError("Unmatched argument at index 3: '3'", trace, "1", "2", "3");
        assertUsageError("trace '" + dir.resolve("missing.rep") + "' is neither a bundled trace (set/name, as"
                + " real/gcc-cc1-O2) nor a file", dir.resolve("missing.rep").toString());
    }

    /** The argument names a file; what is wrong is in it: no usage, and status 1 as before. */
    @Test
    void aFileThatIsNoTraceSaysWhereAndExitsWith1() throws IOException {
        Path passwd = Files.writeString(dir.resolve("passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        ToolRun run = ToolRun.of(new ReplayRounds.Options(), passwd.toString());
        assertEquals(1, run.status(), run.toString());
        assertEquals("ReplayRounds: " + passwd + ":1: header: heap size must be a number, found"
                + " 'root:x:0:0:root:/root:/bin/bash'\n", run.err());
        assertEquals("", run.out());
    }

    /**
     * A valid trace may ask for more than a heap can hand out: the heap's refusal is named with the round and
     * the request, with the status the help gives, and no stack trace.
     */
    @Test
    void aRequestTheHeapRefusesIsNamedWithItsRoundAndExitsWith3() throws IOException {
        Path huge = Files.writeString(dir.resolve("huge.rep"), "20000\n1\n2\n1\na 0 9223372036854775807\nf 0\n");
        ToolRun run = ToolRun.of(new ReplayRounds.Options(), huge.toString(), "1");
        assertEquals(3, run.status(), run.toString());
        assertTrue(run.err().startsWith("ReplayRounds: " + huge + ": round 0, op 1 (a 0 9223372036854775807): heap"
                + " 'rounds' cannot allocate 9223372036854775807 bytes"), run.toString());
        assertEquals(1, run.err().lines().count(), run.toString());
        assertEquals(HEADER + "\n", run.out());
    }

    /** What is wrong with the file in words, as malloc4j replay says it: no Java class name. */
    @Test
    void aCorruptGzipTraceSaysSoInWordsAndExitsWith2() throws IOException {
        ByteArrayOutputStream gzip = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gzip)) {
            out.write("0\n2\n4\n1\na 0 16\na 1 32\nf 0\nf 1\n".getBytes(StandardCharsets.US_ASCII));
        }
        Path cut = Files.write(dir.resolve("cut.rep.gz"), Arrays.copyOf(gzip.toByteArray(), 12));
        ToolRun run = ToolRun.of(new ReplayRounds.Options(), cut.toString(), "1");
        assertEquals(2, run.status(), run.toString());
        assertTrue(run.err().startsWith("ReplayRounds: " + cut + ": the gzip data is truncated or corrupt ("),
                run.toString());
        assertFalse(run.err().contains("Exception"), run.toString());
        assertEquals("", run.out());
    }

    @Test
    void helpPrintsTheUsageAndExitsWith0() {
        ToolRun.assertHelp(ReplayRounds.Options::new, "Usage: ReplayRounds [-h] TRACE [ROUNDS] [PURGE_DELAY_MS]");
    }

    private static void assertUsageError(String message, String... args) {
        ToolRun.assertRefused(ReplayRounds.Options::new, message, args);
    }
}
