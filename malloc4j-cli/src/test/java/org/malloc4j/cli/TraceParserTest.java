package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link TraceParser}, {@link TraceSource} and the bundled traces. */
class TraceParserTest {
    private static final String GOOD = """
            20000
            3
            6
            1
            a 0 100
            a 1 50
            r 0 300
            f 1
            a 2 8
            f 0
            """;

    private static Trace parse(String text) throws Exception {
        return TraceParser.parse(new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII)), "t.rep", "t", "set");
    }

    private static TraceFormatException parseError(String text) {
        return assertThrows(TraceFormatException.class, () -> parse(text));
    }

    @Test
    void readsHeaderAndOps() throws Exception {
        Trace trace = parse(GOOD);
        assertEquals(20000, trace.heapHint());
        assertEquals(3, trace.numIds());
        assertEquals(1, trace.weight());
        assertEquals(6, trace.opCount());
        assertArrayEquals(new byte[] {'a', 'a', 'r', 'f', 'a', 'f'}, trace.kinds());
        assertArrayEquals(new int[] {0, 1, 0, 1, 2, 0}, trace.ids());
        assertArrayEquals(new long[] {100, 50, 300, 0, 8, 0}, trace.sizes());
        assertEquals("r 0 300", trace.describe(2));
        assertEquals("f 1", trace.describe(3));
    }

    @Test
    void measuresPeakLiveBytesAndBlocksLiveAtTheEnd() throws Exception {
        Trace trace = parse(GOOD);
        // 100 + 50, then realloc to 300: 350 live, the most at any time
        assertEquals(350, trace.peakLiveBytes());
        assertArrayEquals(new int[] {2}, trace.liveAtEnd());
    }

    @Test
    void ignoresHowWhitespaceIsLaidOut() throws Exception {
        Trace trace = parse("20000 3\t6 1\r\n a 0 100 a 1 50\n\n r 0 300 f 1 a 2 8\tf 0");
        assertArrayEquals(parse(GOOD).sizes(), trace.sizes());
        assertArrayEquals(parse(GOOD).kinds(), trace.kinds());
    }

    @Test
    void readsNumbersPaddedWithZerosPastWhatAQuoteShows() throws Exception {
        String zeros = "0".repeat(44);
        Trace trace = parse(zeros + "20000 " + zeros + "1 " + zeros + "2 1\na " + zeros + "0 " + zeros + "5\nf 0\n");
        assertEquals(20000, trace.heapHint());
        assertArrayEquals(new long[] {5, 0}, trace.sizes());
        assertEquals("size out of range in 'a 0 " + "0".repeat(40) + "...': sizes are 0..9223372036854775807",
                parseError("0 1 2 1\na 0 " + zeros + "99999999999999999999\nf 0\n").problem());
    }

    @Test
    void acceptsAnIdAllocatedAgainAfterItsFree() throws Exception {
        Trace trace = parse("0 1 4 1\na 0 10\nf 0\na 0 20\nf 0\n");
        assertEquals(20, trace.peakLiveBytes());
    }

    @Test
    void acceptsATraceThatNamesFewerIdsThanItsHeaderAllows() throws Exception {
        Trace trace = parse("100\n2\n2\n1\na 0 10\nf 0\n");
        assertEquals(2, trace.numIds());
        assertArrayEquals(new int[] {0, 0}, trace.ids());
    }

    /** 16777216 ids and ops claimed in 20 bytes: 256 MiB of per-id arrays if the header were trusted. */
    @Test
    void aHugeHeaderOverATinyBodyIsAnOpCountMismatchWithoutSizingAnythingByTheHeader() {
        long before = allocatedBytes();
        TraceFormatException e = parseError("100\n16777216\n16777216\n1\na 0 1\n");
        long allocated = allocatedBytes() - before;
        assertEquals(5, e.line());
        assertEquals("op count mismatch: the header says 16777216 ops, the file has 1", e.problem());
        assertTrue(allocated < 64L << 20, allocated + " bytes allocated");
    }

    @Test
    void aTinyBodyNamingAHugeIdAllocatesNothingForIt() {
        long before = allocatedBytes();
        TraceFormatException e = parseError("100 16777216 16777216 1\na 16777215 1\nf 16777215\n");
        long allocated = allocatedBytes() - before;
        assertEquals("op count mismatch: the header says 16777216 ops, the file has 2", e.problem());
        assertTrue(allocated < 64L << 20, allocated + " bytes allocated");
    }

    /** @return the bytes this thread has allocated on the Java heap so far */
    private static long allocatedBytes() {
        return ((ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    static Stream<Arguments> badTraces() {
        return Stream.of(
                Arguments.of("0 2 2 1\na 0 8\nx 0\n", 3, "unknown op 'x'"),
                Arguments.of("0 2 3 1\na 0 10 99\nf 0\n", 2,
                        "extra token '99' after the request 'a 0 10' (a request is an op, an id and, for a and r, a size)"),
                Arguments.of("0 2 3 1\na 0 10\nf 0 x\n", 3, "extra token 'x' after the request 'f 0'"),
                // the same mistake on the trace's last request says the same
                Arguments.of("0 1 2 1\na 0 10\nf 0 99\n", 3, "extra token '99' after the request 'f 0'"),
                Arguments.of("0 1 1 1\na 0 10 99", 2, "extra token '99' after the request 'a 0 10'"),
                // an op on the last request's line is the next request, as anywhere else
                Arguments.of("0 1 1 1\na 0 10 f 0\n", 2, "op count mismatch: the header says 1 op, but more follow ('f 0')"),
                Arguments.of("0 2 2 1\na 0 8\na 1\n", 3, "missing size: 'a 1' needs a size, found the end"),
                Arguments.of("0 2 3 1\na 0\nf 0\na 1 8\n", 2, "missing size: 'a 0' needs a size, found 'f' on line 3"),
                Arguments.of("0 2 2 1\na 0 8\nr 0 -5\n", 3, "negative size in 'r 0 -5'"),
                Arguments.of("0 2 4 1\na 0 9223372036854775807\na 1 1\nf 0\nf 1\n", 3,
                        "'a 1 1' makes the live blocks add up to more than 9223372036854775807 bytes"),
                Arguments.of("0 2 2 1\na 0 8\nf 2\n", 3, "id 2 out of range"),
                Arguments.of("0 2 2 1\na -1 8\nf 0\n", 2, "id -1 out of range"),
                Arguments.of("0 2 3 1\na 0 8\nf 0\n", 3, "op count mismatch: the header says 3 ops, the file has 2"),
                Arguments.of("0 1 1 1\na 0 8\nf 0\n", 3, "op count mismatch: the header says 1 op, but more follow"),
                Arguments.of("0 2 3 1\na 0 8\na 1 8\na 0 4\n", 4, "'a 0 4' on live id 0 (allocated on line 2"),
                Arguments.of("0 2 2 1\na 0 8\nf 1\n", 3, "'f 1' on id 1, which is not live (never allocated)"),
                Arguments.of("0 2 3 1\na 0 8\nf 0\nr 0 16\n", 4, "'r 0 16' on id 0, which is not live (freed on line 3)"),
                Arguments.of("0 2 3 1\na 0 8\nf 0\nf 0\n", 4, "'f 0' on id 0, which is not live (freed on line 3)"),
                Arguments.of("0 2\n", 1, "header: missing num_ops"),
                Arguments.of("0 two 2 1\n", 1, "header: num_ids must be a number, found 'two'"),
                Arguments.of("0 5 2 1\na 0 8\nf 0\n", 1, "header: num_ids 5 is not within 0..num_ops"),
                Arguments.of("0 1 2 1\na 0 99999999999999999999\nf 0\n", 2,
                        "size out of range in 'a 0 99999999999999999999': sizes are 0..9223372036854775807"),
                Arguments.of("0 1 2 1\na 0 8\nr 0 -99999999999999999999\n", 3,
                        "size out of range in 'r 0 -99999999999999999999'"),
                Arguments.of("0 1 2 1\na 0 8\nr 0 " + "9".repeat(50) + "\n", 3,
                        "size out of range in 'r 0 " + "9".repeat(40) + "...'"),
                Arguments.of("0 0 1 1\na 0 8\n", 2,
                        "id 0 out of range in 'a 0 8': num_ids is 0, so the trace can name no id"),
                Arguments.of("0 1 2 1\na 99999999999999999999 8\nf 0\n", 2,
                        "id 99999999999999999999 out of range in 'a 99999999999999999999 8': num_ids is 1, "
                                + "so ids are 0..0"),
                Arguments.of("0 1 99999999999999999999 1\n", 1,
                        "header: num_ops 99999999999999999999 is out of range: it must fit in a 64-bit integer"),
                Arguments.of("0 1 2 1\na 0 12x\nf 0\n", 2,
                        "'12x' is not a valid size in 'a 0 12x': a size is a decimal integer 0..9223372036854775807"),
                Arguments.of("0 2 2 1\na 1 2x0\nf 1\n", 2, "'2x0' is not a valid size in 'a 1 2x0'"),
                Arguments.of("0 2 2 1\na 0\nr 0 8\n", 2, "missing size: 'a 0' needs a size, found 'r' on line 3"),
                Arguments.of("0 2 2 1\na 0\n8x\n", 2, "missing size: 'a 0' needs a size, found '8x' on line 3"),
                // each header number named on its own line
                Arguments.of("100\n-1\n2\n1\na 0 10\nf 0\n", 2, "header: num_ids -1 is not within 0..num_ops (2)"),
                Arguments.of("100\n5\n2\n1\na 0 10\nf 0\n", 2,
                        "header: num_ids 5 is not within 0..num_ops (2): 2 ops can name at most 2 ids"),
                Arguments.of("100\n1\n999999999\n1\na 0 10\nf 0\n", 3,
                        "header: num_ops 999999999 is not within 0..16777216"),
                Arguments.of("100\n1\n-2\n1\n", 3, "header: num_ops -2 is not within 0..16777216"),
                // a request that breaks the liveness rules is reported before a later syntax error
                Arguments.of("0 2 4 1\na 0 8\nf 1\nq 0\n", 3, "'f 1' on id 1, which is not live"),
                Arguments.of("0 2 4 1\na 0 8\na 0 8\n", 3, "'a 0 8' on live id 0"));
    }

    /** A message quotes the whole request, its tokens as written, however the whitespace lays them out. */
    static Stream<Arguments> wholeRequests() {
        return Stream.of(
                Arguments.of("0\n2\n2\n1\na 5 10\nf 0\n", 5, "id 5 out of range in 'a 5 10': num_ids is 2, so ids are 0..1"),
                Arguments.of("0 2 2 1\nr 5 10\nf 0\n", 2, "id 5 out of range in 'r 5 10': num_ids is 2, so ids are 0..1"),
                Arguments.of("0 2 2 1\nf 5\nf 0\n", 2, "id 5 out of range in 'f 5': num_ids is 2, so ids are 0..1"),
                Arguments.of("0 2 2 1\na 0 8\nr -1 16\n", 3, "id -1 out of range in 'r -1 16': num_ids is 2, so ids are 0..1"),
                // a size on a later line is the request's, as fscanf reads it
                Arguments.of("0 2 2 1\na\t5\n\n   10 f 0\n", 2, "id 5 out of range in 'a 5 10': num_ids is 2, so ids are 0..1"),
                Arguments.of("0 2 2 1\na 5 12x\nf 0\n", 2, "id 5 out of range in 'a 5 12x': num_ids is 2, so ids are 0..1"),
                // no size: the request is quoted as it is, not with the next one's op or id
                Arguments.of("0 2 2 1\na 5\nf 0\n", 2, "id 5 out of range in 'a 5': num_ids is 2, so ids are 0..1"),
                Arguments.of("0 2 2 1\na 5 f 0\n", 2, "id 5 out of range in 'a 5': num_ids is 2, so ids are 0..1"),
                Arguments.of("0 1 1 1\na 5", 2, "id 5 out of range in 'a 5': num_ids is 1, so ids are 0..0"),
                Arguments.of("0 2 2 1\na 0 8\nr 0 -05\n", 3, "negative size in 'r 0 -05'"),
                // the first request past num_ops
                Arguments.of("0 1 1 1\na 0 8\nf 0\n", 3, "op count mismatch: the header says 1 op, but more follow ('f 0')"),
                Arguments.of("0 1 1 1\na 0 8\nr 0\n 16\n", 3,
                        "op count mismatch: the header says 1 op, but more follow ('r 0 16')"),
                Arguments.of("0 1 1 1\na 0 8\na 1\n", 3, "op count mismatch: the header says 1 op, but more follow ('a 1')"),
                Arguments.of("0 1 1 1\na 0 8\nq 0\n", 3, "op count mismatch: the header says 1 op, but more follow ('q')"));
    }

    @ParameterizedTest
    @MethodSource("wholeRequests")
    void quotesTheWholeRequest(String text, long line, String problem) {
        TraceFormatException e = parseError(text);
        assertEquals(line, e.line(), e.getMessage());
        assertEquals(problem, e.problem());
    }

    @ParameterizedTest
    @MethodSource("badTraces")
    void reportsFileLineAndProblem(String text, long line, String problem) {
        TraceFormatException e = parseError(text);
        assertEquals("t.rep", e.file());
        assertEquals(line, e.line(), e.getMessage());
        assertTrue(e.problem().startsWith(problem), e.problem());
        assertEquals("t.rep:" + line + ": " + e.problem(), e.getMessage());
    }

    @Test
    void readsGzippedTraces(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("small.rep.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(GOOD.getBytes(StandardCharsets.US_ASCII));
        }
        TraceSource source = TraceSource.file(file);
        assertEquals("small", source.name());
        assertEquals(dir.getFileName().toString(), source.set());
        assertArrayEquals(parse(GOOD).sizes(), source.read().sizes());
    }

    @Test
    void aFileNamedGzThatHoldsNoGzipDataIsReadAsTextAndItsProblemSaysSo(@TempDir Path dir) throws Exception {
        Path bad = Files.writeString(dir.resolve("fake.rep.gz"), "notgz\n");
        TraceFormatException e = assertThrows(TraceFormatException.class, () -> TraceSource.file(bad).read());
        assertTrue(e.getMessage().endsWith("(the file is named .gz but holds no gzip data, so it was read as text)"),
                e.getMessage());
        assertEquals(1, e.line());

        Path good = Files.writeString(dir.resolve("plain.rep.gz"), GOOD);
        assertArrayEquals(parse(GOOD).sizes(), TraceSource.file(good).read().sizes());
    }

    @Test
    void recognizesGzipByItsContentNotItsName(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("plain-looking.rep");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(GOOD.getBytes(StandardCharsets.US_ASCII));
        }
        assertEquals(6, TraceSource.file(file).read().opCount());
    }

    @Test
    void namesTheFileInErrorsFromDisk(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("bad.rep"), "0 1 1 1\nq 0 8\n");
        TraceFormatException e = assertThrows(TraceFormatException.class, () -> TraceSource.file(file).read());
        assertEquals(file.toString() + ":2: unknown op 'q' (expected a, r or f)", e.getMessage());
    }

    @Test
    void quotesBytesThatAreNotPrintableEscaped(@TempDir Path dir) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes("0 1 2 1\na 0 ".getBytes(StandardCharsets.US_ASCII));
        // a terminal's clear-screen sequence, a NUL, a byte of no character, and a backslash
        bytes.writeBytes(new byte[] {0x1B, '[', '2', 'J', 0x00, (byte) 0xFF, '\\', 'x', '1'});
        bytes.writeBytes("\nf 0\n".getBytes(StandardCharsets.US_ASCII));
        Path file = Files.write(dir.resolve("escapes.rep"), bytes.toByteArray());
        TraceFormatException e = assertThrows(TraceFormatException.class, () -> TraceSource.file(file).read());
        String token = "\\x1b[2J\\x00\\xff\\\\x1";
        assertTrue(e.problem().startsWith("'" + token + "' is not a valid size in 'a 0 " + token + "'"), e.problem());
    }

    @Test
    void aBinaryFileGivenAsATraceIsQuotedInAShortPrintableExcerpt() throws IOException {
        Path binary = Path.of(System.getProperty("java.home"), "bin", "java");
        TraceFormatException e = assertThrows(TraceFormatException.class, () -> TraceSource.file(binary).read());
        assertEquals(1, e.line());
        assertTrue(e.problem().startsWith("header: heap size must be a number, found '\\x7fELF\\x02"), e.problem());
        assertTrue(e.getMessage().chars().allMatch(c -> c >= ' ' && c <= '~'), e.getMessage());
        assertTrue(e.problem().length() <= "header: heap size must be a number, found ''".length() + 40 + 3,
                e.problem());
    }

    @Test
    void findsTracesInFoldersSortedAndRecursively(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("b.rep"), GOOD);
        Files.writeString(dir.resolve("a.rep"), GOOD);
        Files.writeString(dir.resolve("notes.txt"), "not a trace");
        Files.writeString(dir.resolve("sub/c.rep"), GOOD);
        List<String> names = TraceFinder.find(List.of(dir)).sources().stream().map(TraceSource::name).toList();
        assertEquals(List.of("a", "b", "c"), names);
    }

    @Test
    void findsTracesThroughSymbolicLinksToFoldersAndSkipsLinksThatLoop(@TempDir Path dir) throws IOException {
        Path real = Files.createDirectories(dir.resolve("real"));
        Files.writeString(real.resolve("a.rep"), GOOD);
        Files.createSymbolicLink(real.resolve("loop"), real);
        Path linked = Files.createSymbolicLink(dir.resolve("linked"), real);
        Path outer = Files.createDirectories(dir.resolve("outer"));
        Files.writeString(outer.resolve("b.rep"), GOOD);
        Files.createSymbolicLink(outer.resolve("sub"), Path.of("../real"));

        assertEquals(List.of(linked.resolve("a.rep").toString()),
                TraceFinder.find(List.of(linked)).sources().stream().map(TraceSource::display).toList());
        assertEquals(List.of(outer.resolve("b.rep").toString(), outer.resolve("sub/a.rep").toString()),
                TraceFinder.find(List.of(outer)).sources().stream().map(TraceSource::display).toList());
    }

    @Test
    void refusesMissingPathsAndFoldersWithoutTraces(@TempDir Path dir) {
        assertThrows(IllegalArgumentException.class, () -> TraceFinder.find(List.of(dir.resolve("nope"))));
        assertThrows(IllegalArgumentException.class, () -> TraceFinder.find(List.of(dir)));
    }

    @Test
    void bundledTracesAreTheDefaultMallocLabSetAndGcc() throws Exception {
        List<TraceSource> bundled = TraceFinder.bundled();
        assertEquals(12, bundled.size());
        long malloclabOps = 0;
        for (TraceSource source : bundled) {
            Trace trace = source.read();
            if (source.set().equals("malloclab")) {
                malloclabOps += trace.opCount();
            } else {
                assertEquals("gcc-cc1-O2", trace.name());
                assertEquals(325_037, trace.opCount());
                assertEquals(3_996_271, trace.peakLiveBytes());
            }
        }
        // The total mdriver prints for the 11 default traces (see shared/traces/README.md).
        assertEquals(112_372, malloclabOps);
    }

    @Test
    void sourcesTravelToWorkersWhole() {
        TraceSource bundled = TraceFinder.bundled().getFirst();
        assertEquals(bundled, WorkerProtocol.read(WorkerProtocol.write(bundled)));
        TraceSource renamed = TraceSource.file(Path.of("some/dir/x.rep.gz")).withName("x.rep.gz");
        assertEquals(renamed, WorkerProtocol.read(WorkerProtocol.write(renamed)));
    }

    @Test
    void tracesThatWouldShareANameInASetAreNamedByTheirFiles(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("a.rep"), GOOD);
        gzip(dir.resolve("a.rep.gz"), GOOD);
        Files.writeString(dir.resolve("b.rep"), GOOD);
        List<String> names = TraceFinder.find(List.of(dir)).sources().stream().map(TraceSource::name).toList();
        assertEquals(List.of("a.rep", "a.rep.gz", "b"), names);
    }

    @Test
    void tracesOfFoldersOfTheSameNameWithTheSameFileNameAreNamedByTheirPaths(@TempDir Path dir) throws IOException {
        Path one = Files.createDirectories(dir.resolve("one/set"));
        Path two = Files.createDirectories(dir.resolve("two/set"));
        Files.writeString(one.resolve("a.rep"), GOOD);
        Files.writeString(two.resolve("a.rep"), GOOD);
        Files.writeString(two.resolve("c.rep"), GOOD);
        List<TraceSource> sources = TraceFinder.find(List.of(one, two)).sources();
        assertEquals(List.of(one.resolve("a.rep").toString(), two.resolve("a.rep").toString(), "c"),
                sources.stream().map(TraceSource::name).toList());
        assertEquals(List.of("set"), sources.stream().map(TraceSource::set).distinct().toList());
    }

    static Stream<Arguments> brokenGzip() {
        byte[] whole = gzipped(GOOD.getBytes(StandardCharsets.US_ASCII));
        byte[] corrupt = whole.clone();
        for (int i = 12; i < corrupt.length - 8; i++) {
            corrupt[i] = (byte) 0xFF;
        }
        return Stream.of(
                Arguments.of("truncated", Arrays.copyOf(whole, whole.length / 2)),
                Arguments.of("only the magic number", Arrays.copyOf(whole, 2)),
                Arguments.of("corrupt", corrupt));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenGzip")
    void brokenGzipDataIsReportedInWords(String what, byte[] data, @TempDir Path dir) throws IOException {
        Path file = Files.write(dir.resolve("broken.rep.gz"), data);
        IOException e = assertThrows(IOException.class, () -> TraceSource.file(file).read());
        assertTrue(e.getMessage().startsWith("the gzip data is truncated or corrupt ("), e.getMessage());
        assertFalse(e.getMessage().contains("java."), e.getMessage());
        assertFalse(e.getMessage().contains("Exception"), e.getMessage());
    }

    @Test
    void gzipMembersOneAfterTheOtherAreOneTraceButBytesAfterTheGzipDataAreRefused(@TempDir Path dir)
            throws Exception {
        int split = GOOD.indexOf("r 0");
        byte[] first = gzipped(GOOD.substring(0, split).getBytes(StandardCharsets.US_ASCII));
        byte[] second = gzipped(GOOD.substring(split).getBytes(StandardCharsets.US_ASCII));
        Path concatenated = dir.resolve("concatenated.rep.gz");
        Files.write(concatenated, first);
        Files.write(concatenated, second, StandardOpenOption.APPEND);
        assertArrayEquals(parse(GOOD).sizes(), TraceSource.file(concatenated).read().sizes());

        for (String tail : List.of("garbage\n", "\n", "a 3 8\n")) {
            Path file = dir.resolve("tail.rep.gz");
            Files.write(file, gzipped(GOOD.getBytes(StandardCharsets.US_ASCII)));
            Files.writeString(file, tail, StandardOpenOption.APPEND);
            IOException e = assertThrows(IOException.class, () -> TraceSource.file(file).read(), tail);
            assertEquals("the gzip data is followed by bytes that are not gzip data", e.getMessage());
        }
    }

    @Test
    void aFileThatCannotBeReadIsReportedInWords(@TempDir Path dir) {
        IOException e = assertThrows(IOException.class, () -> TraceSource.file(dir.resolve("gone.rep")).read());
        assertEquals("cannot be read: no such file or folder", e.getMessage());
    }

    private static byte[] gzipped(byte[] data) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream out = new GZIPOutputStream(bytes)) {
            out.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static void gzip(Path file, String text) throws IOException {
        Files.write(file, gzipped(text.getBytes(StandardCharsets.US_ASCII)));
    }
}
