package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/** The command end to end: workers, table, JSON, exit codes. */
class MainTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The line after every usage error of the replay command. */
    private static final String TRY_REPLAY_HELP = "Try 'malloc4j replay --help' for more information."
            + System.lineSeparator();
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
        assertEquals("critical", report.get("downcalls").asText());
        assertTrue(run.out().contains("Native allocators called through critical FFM downcalls"), run.out());
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
    void standardDowncallsReplayAsCorrectlyAndTheReportSaysHowTheNativesWereCalled() throws Exception {
        Run run = run("replay", "--allocator", "glibc,malloc4j", "--downcalls", "STANDARD", "--repeat", "1",
                "--json", "-", traces.toString());
        assertEquals(0, run.exitCode(), run.err());
        JsonNode report = JSON.readTree(run.out());
        assertEquals("standard", report.get("downcalls").asText());
        assertEquals(4, report.get("results").size());
        for (JsonNode result : report.get("results")) {
            assertEquals("ok", result.get("status").asText(), result.toString());
        }
        assertTrue(run.err().contains("Native allocators called through standard FFM downcalls (no linker option)"),
                run.err());
    }

    @Test
    void withoutANativeAllocatorTheReportSaysNothingOfDowncalls() {
        Run run = run("replay", "--allocator", "malloc4j", "--repeat", "1", traces.toString());
        assertEquals(0, run.exitCode(), run.err());
        assertFalse(run.out().contains("downcalls"), run.out());
    }

    @Test
    void usageErrorsExitWithTwo() {
        Run linkage = run("replay", "--downcalls", "fast", traces.toString());
        assertEquals(2, linkage.exitCode());
        assertTrue(linkage.err().contains("--downcalls must be critical or standard, got 'fast'"), linkage.err());
        assertEquals(2, run("replay", "--allocator", "dlmalloc", traces.toString()).exitCode());
        assertEquals(2, run("replay", "--repeat", "0", traces.toString()).exitCode());
        assertEquals(2, run("replay", dir.resolve("no-such-trace.rep").toString()).exitCode());
        assertEquals(2, run("replay", "--no-such-option").exitCode());
        assertEquals(2, run().exitCode());
        Run unknown = run("replay", "--allocator", "dlmalloc", traces.toString());
        assertTrue(unknown.err().contains("unknown allocator 'dlmalloc'"), unknown.err());
    }

    @Test
    void aFolderWithNoTraceIsAUsageError() throws IOException {
        Path empty = java.nio.file.Files.createDirectories(dir.resolve("no-traces-here"));
        Run run = run("replay", empty.toString());
        assertEquals(2, run.exitCode(), run.err());
        assertTrue(run.err().contains("no *.rep or *.rep.gz trace in folder"), run.err());
        Run help = run("replay", "--help");
        assertTrue(help.out().replaceAll("\\s+", " ").contains("a folder with no trace in it"), help.out());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        ",            | --allocator names no allocator",
        "' '          | --allocator names no allocator",
        ",glibc       | --allocator has an empty name",
        "glibc,       | --allocator has an empty name",
        "glibc,,      | --allocator has an empty name",
        "glibc,,arena | --allocator has an empty name"})
    void anAllocatorListWithoutANameIsAUsageError(String allocators, String message) {
        Run run = run("replay", "--allocator", allocators, traces.toString());
        assertEquals(2, run.exitCode(), run.err());
        assertEquals("malloc4j: " + message + "; known: malloc4j, glibc, jemalloc, mimalloc, tcmalloc, arena",
                run.err().lines().findFirst().orElseThrow());
        assertEquals("", run.out());
    }

    static Stream<Arguments> unwritableJsonTargets() {
        return Stream.of(
                Arguments.of("/nonexist/x.json", "malloc4j: --json /nonexist/x.json: folder /nonexist does not exist"),
                Arguments.of("/tmp", "malloc4j: --json /tmp: is a folder; give the path of a file to write"),
                // quoted, as the empty FILE|DIR argument is, so the message does not read "--json : ..."
                Arguments.of("", "malloc4j: --json '': not a file name"),
                Arguments.of(" ", "malloc4j: --json ' ': not a file name"),
                // quoted as a shell would read it back, so that the line shows where the path ends
                Arguments.of("/nonexist/my reports/x.json", "malloc4j: --json '/nonexist/my reports/x.json': folder "
                        + "'/nonexist/my reports' does not exist"),
                Arguments.of("/nonexist/it's/x.json", "malloc4j: --json '/nonexist/it'\\''s/x.json': folder "
                        + "'/nonexist/it'\\''s' does not exist"),
                Arguments.of("TRACE/x.json", "malloc4j: --json TRACE/x.json: TRACE is not a folder"),
                Arguments.of("TRACE", "malloc4j: --json TRACE: is named as a trace (.rep, .rep.gz), not as a report; "
                        + "give the JSON report another file name"),
                Arguments.of("/tmp/no-such-folder/", "malloc4j: --json /tmp/no-such-folder/: names a folder (it ends "
                        + "with '/'); give the path of a file to write"),
                // A folder that every user may write to by its permissions, whose file system takes no new file
                Arguments.of("/proc/x.json", "malloc4j: --json /proc/x.json: cannot write in folder /proc: it takes "
                        + "no new files (no such file or folder)"));
    }

    @ParameterizedTest
    @MethodSource("unwritableJsonTargets")
    void anUnwritableJsonTargetIsAUsageErrorBeforeAnyReplay(String json, String expected) throws Exception {
        String trace = traces.resolve("one.rep").toString();
        String target = json.replace("TRACE", trace);
        String message = expected.replace("TRACE", trace);
        Run run = run("replay", "--allocator", "glibc", "--debug", "--json", target, traces.toString());
        assertEquals(2, run.exitCode(), run.err());
        // A replay run first would have printed its report, and its progress under --debug.
        assertEquals(message + System.lineSeparator() + TRY_REPLAY_HELP, run.err());
        assertEquals("", run.out());
        assertFalse(Files.readString(Path.of(trace)).startsWith("{"), "the trace was overwritten");
    }

    /**
     * A target that is one of the traces under another name, a link to it or a link to its folder's
     * copy, would have the report replace the trace: refused before the run as a target named as a
     * trace is, whether the trace is named itself or found in a folder.
     */
    @Test
    void aJsonTargetThatIsATraceUnderAnotherNameFailsBeforeAnyReplay() throws Exception {
        Path trace = traces.resolve("one.rep");
        String before = Files.readString(trace);
        Path symbolic = Files.createSymbolicLink(dir.resolve("symbolic.json"), trace);
        Path hard = Files.createLink(dir.resolve("hard.json"), trace);
        for (Path target : List.of(symbolic, hard)) {
            for (String input : List.of(trace.toString(), traces.toString())) {
                Run run = run("replay", "--allocator", "glibc", "--json", target.toString(), input);
                assertEquals(2, run.exitCode(), run.err());
                assertEquals("malloc4j: --json " + target + ": is the trace " + trace + " under another name (a link "
                        + "to it); give the JSON report another file" + System.lineSeparator() + TRY_REPLAY_HELP,
                        run.err());
                assertEquals("", run.out(), "it ran the replay first");
                assertEquals(before, Files.readString(trace), "the trace was overwritten");
            }
        }
    }

    /** The check before the run leaves a file it could write as it was: only the report, after the run, replaces it. */
    @Test
    void anExistingJsonTargetIsKeptWhenTheCommandFailsAfterTheCheck() throws Exception {
        Path existing = Files.writeString(dir.resolve("kept.json"), "an earlier report");
        Path missing = dir.resolve("missing.rep");
        Run run = run("replay", "--allocator", "glibc", "--json", existing.toString(), missing.toString());
        assertEquals(2, run.exitCode(), run.err());
        assertTrue(run.err().contains(missing.toString()), run.err());
        assertEquals("an earlier report", Files.readString(existing));
        Path fresh = dir.resolve("not-made.json");
        run("replay", "--allocator", "glibc", "--json", fresh.toString(), missing.toString());
        assertFalse(Files.exists(fresh), "the check left the file it made");
    }

    /**
     * A link to a file not made yet is written through, so what counts is the folder it leads to:
     * one that does not exist fails before the run, as for a plain path; one that does gets the
     * report.
     */
    @Test
    void aJsonTargetThatLinksIntoAMissingFolderFailsBeforeAnyReplay() throws Exception {
        Path nowhere = dir.resolve("no-such-folder").resolve("x.json");
        Path link = Files.createSymbolicLink(dir.resolve("dangling.json"), nowhere);
        Run run = run("replay", "--allocator", "glibc", "--json", link.toString(), traces.resolve("one.rep").toString());
        assertEquals(2, run.exitCode(), run.err());
        assertEquals("malloc4j: --json " + link + ": links to " + nowhere + ": folder " + nowhere.getParent()
                + " does not exist" + System.lineSeparator() + TRY_REPLAY_HELP, run.err());
        assertEquals("", run.out(), "it ran the replay first");

        Path made = dir.resolve("made-through-link.json");
        Path relative = Files.createSymbolicLink(dir.resolve("to-be-made.json"), made.getFileName());
        Run through = run("replay", "--allocator", "glibc", "--repeat", "1", "--json", relative.toString(),
                traces.resolve("one.rep").toString());
        assertEquals(0, through.exitCode(), through.err());
        assertTrue(Files.readString(made).startsWith("{"), "no report through the link");
    }

    @Test
    void aJsonTargetThePermissionsForbidFailsBeforeAnyReplay() throws Exception {
        Path locked = Files.createDirectories(dir.resolve("locked"));
        Path readOnly = Files.writeString(dir.resolve("read-only.json"), "an earlier report");
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("r-x------"));
        Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r--------"));
        try {
            assumeFalse(Files.isWritable(readOnly), "permissions are not enforced for this user");
            String trace = traces.resolve("one.rep").toString();
            Run inLocked = run("replay", "--allocator", "glibc", "--json", locked.resolve("x.json").toString(), trace);
            assertEquals(2, inLocked.exitCode(), inLocked.err());
            assertEquals("malloc4j: --json " + locked.resolve("x.json") + ": cannot write in folder " + locked
                    + ": permission denied" + System.lineSeparator() + TRY_REPLAY_HELP, inLocked.err());
            Run onReadOnly = run("replay", "--allocator", "glibc", "--json", readOnly.toString(), trace);
            assertEquals(2, onReadOnly.exitCode(), onReadOnly.err());
            assertEquals("malloc4j: --json " + readOnly + ": cannot write this file: permission denied"
                    + System.lineSeparator() + TRY_REPLAY_HELP, onReadOnly.err());
            assertEquals("an earlier report", Files.readString(readOnly));
        } finally {
            Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwx------"));
            Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("rw-------"));
        }
    }

    /**
     * A read-only file system is named as such, not as a permission. It needs one to write to: the
     * command runs in a child JVM in a mount namespace of its own (util-linux's unshare), where a
     * folder is bind-mounted read-only over itself; skipped where that cannot be set up.
     */
    @Test
    void aJsonTargetOnAReadOnlyFileSystemFailsBeforeAnyReplayNamingIt() throws Exception {
        Path mounted = Files.createDirectories(dir.resolve("read-only-mount"));
        Path existing = Files.writeString(mounted.resolve("earlier.json"), "an earlier report");
        Path fresh = mounted.resolve("x.json");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String script = "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" || exit 99; shift 3; "
                + "for target in \"$FRESH\" \"$EXISTING\"; do \"$@\" --json \"$target\"; echo \"exit $?\"; done";
        ProcessBuilder builder = new ProcessBuilder(List.of("unshare", "--map-root-user", "--mount", "sh", "-c",
                script, "sh", mounted.toString(), "fresh", "existing", java, "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "replay", "--allocator", "glibc",
                traces.resolve("one.rep").toString()));
        builder.environment().put("FRESH", fresh.toString());
        builder.environment().put("EXISTING", existing.toString());
        Process process;
        try {
            process = builder.redirectErrorStream(true).start();
        } catch (IOException noUnshare) {
            assumeTrue(false, "no unshare here: " + noUnshare.getMessage());
            return;
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the command did not finish");
        assumeTrue(process.exitValue() != 99 && !output.startsWith("unshare:"),
                "a read-only mount cannot be made here: " + output);
        // Only the command's lines: a JVM may add its own (JAVA_TOOL_OPTIONS is picked up, say).
        List<String> lines = output.lines().filter(line -> line.startsWith("malloc4j: ") || line.startsWith("exit "))
                .toList();
        assertEquals(List.of(
                "malloc4j: --json " + fresh + ": cannot write in folder " + mounted + ": read-only file system",
                "exit 2",
                "malloc4j: --json " + existing + ": cannot write this file: read-only file system",
                "exit 2"), lines, output);
        assertEquals("an earlier report", Files.readString(existing));
    }

    /** A target that passes the check before the run and fails when written: the help must say 1 for it. */
    @Test
    void aJsonReportThatFailsToBeWrittenAfterTheRunExitsWithTheCodeTheHelpGives() {
        Path full = Path.of("/dev/full");
        assumeTrue(Files.isWritable(full), "no /dev/full here");
        Run run = run("replay", "--allocator", "glibc", "--repeat", "1", "--json", full.toString(),
                traces.resolve("one.rep").toString());
        assertEquals("malloc4j: the JSON report could not be written to /dev/full: no space left on device",
                run.err().strip());
        assertEquals(1, run.exitCode());
        String help = run("replay", "--help").out().replaceAll("\\s+", " ");
        String codes = help.substring(help.indexOf("Exit codes: "));
        String codeOne = codes.substring(codes.indexOf(" 1 "), codes.indexOf(" 2 "));
        String codeTwo = codes.substring(codes.indexOf(" 2 "));
        assertTrue(codeOne.contains("writing the table or the --json report failed"), codeOne);
        assertFalse(codeTwo.contains("cannot be written"), codeTwo);
    }

    /** The README: {@code --debug} adds the stack trace of an error an exception raised, here a failed write. */
    @ParameterizedTest
    @CsvSource({"--debug, replay", "replay, --debug"})
    void debugAddsTheStackTraceOfAJsonReportThatCouldNotBeWritten(String first, String second) {
        Path full = Path.of("/dev/full");
        assumeTrue(Files.isWritable(full), "no /dev/full here");
        Run run = run(first, second, "--allocator", "glibc", "--repeat", "1", "--json", full.toString(),
                traces.resolve("one.rep").toString());
        assertEquals(1, run.exitCode(), run.err());
        List<String> lines = run.err().lines().toList();
        assertEquals("malloc4j: the JSON report could not be written to /dev/full: no space left on device",
                lines.get(0));
        assertTrue(lines.size() > 2 && lines.get(1).contains("IOException") && lines.get(2).startsWith("\tat "),
                run.err());
    }

    @Test
    void aJsonReportThatStandardOutputRefusesExitsWithOne() {
        Writer full = fullStandardOutput();
        StringWriter err = new StringWriter();
        int exitCode = Main.run(new PrintWriter(full), new PrintWriter(err), "replay", "--allocator", "glibc",
                "--repeat", "1", "--json", "-", traces.resolve("one.rep").toString());
        assertEquals(1, exitCode, err.toString());
        assertTrue(err.toString().contains("malloc4j: the JSON report could not be written to standard output: "
                + "the write failed"), err.toString());
    }

    /** @return standard output on a full disk: every write fails */
    private static Writer fullStandardOutput() {
        return new Writer() {
            @Override
            public void write(char[] text, int offset, int length) throws IOException {
                throw new IOException("No space left on device");
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
    }

    /**
     * A --json FILE that is where standard output goes, piped ({@code --json /dev/stdout | jq}) or
     * redirected to that file, is standard output, as {@code -} is: the table goes to standard error
     * instead of coming before the JSON in the pipe, or being truncated away by the report's write.
     */
    @Test
    void aJsonTargetThatIsStandardOutputIsWrittenAsDashIs() throws Exception {
        String trace = traces.resolve("one.rep").toString();
        Path redirected = dir.resolve("redirected.json");

        Process piped = command("--json", "/dev/stdout", trace).start();
        String pipedErr = new String(piped.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        JsonNode pipedReport = JSON.readTree(piped.getInputStream().readAllBytes());
        assertTrue(piped.waitFor(60, TimeUnit.SECONDS), "the command did not finish");
        assertEquals(0, piped.exitValue(), pipedErr);
        assertEquals(0, pipedReport.get("exitCode").asInt());
        assertTrue(pipedErr.contains("Utilization: peak live bytes / peak footprint"), pipedErr);

        Process toFile = command("--json", redirected.toString(), trace).redirectOutput(redirected.toFile()).start();
        String toFileErr = new String(toFile.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(toFile.waitFor(60, TimeUnit.SECONDS), "the command did not finish");
        assertEquals(0, toFile.exitValue(), toFileErr);
        assertEquals(0, JSON.readTree(redirected.toFile()).get("exitCode").asInt());
        assertTrue(toFileErr.contains("Utilization: peak live bytes / peak footprint"), toFileErr);
    }

    /**
     * A --json FILE that is where standard error goes gets the report through standard error, after
     * what was written there before, instead of truncating it away; the table stays on standard
     * output. With both streams in one file, that file keeps all three, the report last.
     */
    @ParameterizedTest
    @CsvSource({"/dev/stderr", "/proc/self/fd/2", "ERRORS"})
    void aJsonTargetThatIsStandardErrorIsWrittenAfterWhatItHolds(String json) throws Exception {
        String trace = traces.resolve("one.rep").toString();
        Path errors = dir.resolve("errors.txt");
        Files.writeString(errors, "an earlier line\n");
        String target = json.replace("ERRORS", errors.toString());

        Process apart = command("--json", target, trace)
                .redirectError(ProcessBuilder.Redirect.appendTo(errors.toFile())).start();
        String table = new String(apart.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(apart.waitFor(60, TimeUnit.SECONDS), "the command did not finish");
        String written = Files.readString(errors);
        assertEquals(0, apart.exitValue(), written);
        assertTrue(written.startsWith("an earlier line\n{"), written);
        assertEquals(0, JSON.readTree(written.substring(written.indexOf('{'))).get("exitCode").asInt());
        assertTrue(table.contains("Utilization: peak live bytes / peak footprint"), table);

        Path both = dir.resolve("both-streams.txt");
        Files.writeString(both, "an earlier line\n");
        Process together = command("--json", target.replace(errors.toString(), both.toString()), trace)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(both.toFile())).redirectErrorStream(true).start();
        assertTrue(together.waitFor(60, TimeUnit.SECONDS), "the command did not finish");
        String all = Files.readString(both);
        assertEquals(0, together.exitValue(), all);
        assertTrue(all.startsWith("an earlier line\n"), all);
        int report = all.indexOf("\n{") + 1;
        assertTrue(all.indexOf("Utilization: peak live bytes / peak footprint") < report, all);
        assertEquals(0, JSON.readTree(all.substring(report)).get("exitCode").asInt());
    }

    /** @return the command in a JVM of its own, replaying with glibc once, with {@code args} after */
    private static ProcessBuilder command(String... args) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "replay", "--allocator", "glibc", "--repeat", "1"));
        command.addAll(List.of(args));
        return new ProcessBuilder(command);
    }

    @Test
    void aTableThatStandardOutputRefusesExitsWithOne() {
        Writer full = fullStandardOutput();
        StringWriter err = new StringWriter();
        int exitCode = Main.run(new PrintWriter(full), new PrintWriter(err), "replay", "--allocator", "glibc",
                "--repeat", "1", traces.resolve("one.rep").toString());
        assertEquals(1, exitCode, err.toString());
        assertTrue(err.toString().contains("malloc4j: the results could not be written to standard output: "
                + "the write failed"), err.toString());
    }

    @Test
    void aTraceArgumentThatIsABrokenLinkIsNamedAsOneNotAsAMissingFile() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("broken-links"));
        Path dangling = Files.createSymbolicLink(folder.resolve("dangling.rep"), Path.of("missing.rep"));
        Path loop = Files.createSymbolicLink(folder.resolve("loop.rep"), Path.of("loop.rep"));

        Run toNothing = run("replay", "--allocator", "glibc", dangling.toString());
        Run toItself = run("replay", "--allocator", "glibc", loop.toString());

        assertEquals(2, toNothing.exitCode(), toNothing.err());
        assertEquals("malloc4j: a link that leads to no file or folder: " + dangling + " (" + folder.resolve("missing.rep")
                + " does not exist)", toNothing.err().lines().findFirst().orElseThrow());
        assertEquals(2, toItself.exitCode(), toItself.err());
        assertEquals("malloc4j: a link that leads to no file or folder: " + loop + " (a loop of links)",
                toItself.err().lines().findFirst().orElseThrow());
    }

    /** A path with a space in it is quoted in each message, as the --json FILE is, so that its end shows. */
    @Test
    void aPathWithASpaceIsQuotedInTheMessagesThatNameIt() throws Exception {
        Path spaced = Files.createDirectories(dir.resolve("my traces"));
        Path bad = Files.writeString(spaced.resolve("bad.rep"), SMALL.replace("f 3", "f 9"));
        Path missing = spaced.resolve("none.rep");

        Run notFound = run("replay", "--allocator", "glibc", missing.toString());
        assertEquals(2, notFound.exitCode(), notFound.err());
        assertEquals("malloc4j: no such file or folder: '" + missing + "'",
                notFound.err().lines().findFirst().orElseThrow());

        Run unparsed = run("replay", "--allocator", "glibc", bad.toString());
        assertEquals(1, unparsed.exitCode(), unparsed.err());
        assertTrue(unparsed.out().contains("\n  '" + bad + "':15: id 9 out of range"), unparsed.out());

        Path full = Path.of("/dev/full");
        assumeTrue(Files.isWritable(full), "no /dev/full here");
        Path toFull = Files.createSymbolicLink(spaced.resolve("full disk.json"), full);
        Run unwritten = run("replay", "--allocator", "glibc", "--repeat", "1", "--json", toFull.toString(),
                traces.resolve("one.rep").toString());
        assertEquals(1, unwritten.exitCode(), unwritten.err());
        assertEquals("malloc4j: the JSON report could not be written to '" + toFull + "': no space left on device",
                unwritten.err().strip());
    }

    @ParameterizedTest
    @CsvSource({"replya", "worker2", "x"})
    void anUnknownCommandIsNamedAsOneWithTheCommandThereIs(String command) {
        Run run = run(command, "--allocator", "glibc");
        assertEquals(2, run.exitCode(), run.err());
        assertEquals(List.of("malloc4j: unknown command '" + command + "'; the command is 'replay'",
                "Try 'malloc4j --help' for more information."), run.err().lines().toList());
    }

    @Test
    void helpAsACommandPrintsTheUsageOfTheToolOrOfItsCommand() {
        Run tool = run("help");
        assertEquals(0, tool.exitCode(), tool.err());
        assertTrue(tool.out().contains("Usage: malloc4j ") && tool.out().contains("replay"), tool.out());
        Run replay = run("help", "replay");
        assertEquals(0, replay.exitCode(), replay.err());
        assertTrue(replay.out().contains("Usage: malloc4j replay "), replay.out());
        Run help = run("help", "help");
        assertEquals(0, help.exitCode(), help.err());
        assertTrue(help.out().startsWith("Usage: malloc4j help "), help.out());
    }

    /**
     * replay's synopsis is written out (picocli's broke a bracket across lines): it names every
     * option and the parameters, so an option added without it fails here.
     */
    @Test
    void replaysSynopsisNamesEveryOptionAndItsParameters() {
        CommandLine replay = Main.commandLine(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()))
                .getSubcommands().get("replay");
        String synopsis = String.join("\n", replay.getCommandSpec().usageMessage().customSynopsis());
        for (CommandLine.Model.OptionSpec option : replay.getCommandSpec().options()) {
            String shortest = option.shortestName();
            boolean named = option.arity().max() == 0 && shortest.length() == 2
                    ? synopsis.matches("(?s).*\\[-[a-zA-Z]*" + shortest.charAt(1) + "[a-zA-Z]*\\].*")
                    : synopsis.contains("[" + shortest + (option.arity().max() == 0 ? "]" : "=" + option.paramLabel()));
            assertTrue(named, shortest + " is not in the synopsis:\n" + synopsis);
        }
        assertTrue(synopsis.contains("[" + replay.getCommandSpec().positionalParameters().get(0).paramLabel() + "...]"),
                synopsis);
    }

    @ParameterizedTest
    @CsvSource({"nonsense", "worker"})
    void helpOfACommandItDoesNotListIsAUsageErrorNamingTheCommands(String command) {
        Run run = run("help", command);
        assertEquals(2, run.exitCode(), run.err());
        assertEquals("malloc4j: unknown command '" + command + "'; the command is 'replay'",
                run.err().lines().findFirst().orElseThrow());
        assertEquals("", run.out());
    }

    /** Picocli's messages start as the tool's own do, in lower case; help points at the tool's help. */
    @Test
    void aWrongOptionOfHelpIsAUsageError() {
        Run run = run("help", "-x");
        assertEquals(2, run.exitCode(), run.err());
        assertEquals(List.of("malloc4j: unknown option: '-x'", "Try 'malloc4j --help' for more information."),
                run.err().lines().toList());
    }

    /** Bug: a usage error the tool built that starts with a path ("Loop/x.rep: too many levels...") lost its case. */
    @Test
    void aUsageErrorThatStartsWithTheUsersPathKeepsItsCase() {
        CommandLine tool = Main.commandLine(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
        String ours = "Loop/x.rep: too many levels of symbolic links";
        assertEquals(ours, Main.picocliMessageInLowerCase(new CommandLine.ParameterException(tool, ours)));
        assertEquals("unknown option: '-x'", Main.picocliMessageInLowerCase(
                new CommandLine.UnmatchedArgumentException(tool, "Unknown option: '-x'")));
    }

    @Test
    void anUnknownCommandForHelpPointsAtTheToolsHelp() {
        Run run = run("help", "bogus");
        assertEquals(2, run.exitCode(), run.err());
        assertEquals(List.of("malloc4j: unknown command 'bogus'; the command is 'replay'",
                "Try 'malloc4j --help' for more information."), run.err().lines().toList());
    }

    @Test
    void aBadOptionValueIsSaidInLowerCaseAsTheToolsOwnMessagesAre() {
        Run run = run("replay", "--repeat", "abc", "x.rep");
        assertEquals(2, run.exitCode(), run.err());
        assertEquals(List.of("malloc4j: invalid value for option '--repeat': 'abc' is not an int",
                TRY_REPLAY_HELP.strip()), run.err().lines().toList());
    }

    @Test
    void aWrongOptionOfTheHiddenWorkerPointsAtTheToolsHelp() {
        Run run = run("worker", "--no-such-option");
        assertEquals(2, run.exitCode(), run.err());
        assertEquals("Try 'malloc4j --help' for more information.", run.err().lines().reduce((a, b) -> b).orElseThrow());
    }

    @Test
    void anEmptyPathIsAUsageErrorNotTheCurrentFolder() {
        Run run = run("replay", "--allocator", "glibc", "");
        assertEquals(2, run.exitCode(), run.err());
        assertEquals("malloc4j: an empty FILE|DIR argument ('') names no file or folder",
                run.err().lines().findFirst().orElseThrow());
        assertEquals("", run.out());
    }

    @Test
    void aFifoGivenAsATraceIsAUsageErrorThatSaysWhatItIs() throws Exception {
        Path fifo = dir.resolve("pipe.rep");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assumeTrue(mkfifo.waitFor() == 0, "mkfifo failed");
        Run run = run("replay", "--allocator", "glibc", fifo.toString());
        assertEquals(2, run.exitCode(), run.err());
        assertEquals("malloc4j: not a regular file or folder: " + fifo + " (a pipe, socket or device cannot be "
                + "replayed; copy the trace to a file)", run.err().lines().findFirst().orElseThrow());
    }

    @Test
    void aFifoNamedAsATraceInAFolderIsAUsageErrorNotSkipped() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("with-pipe"));
        Files.writeString(folder.resolve("a.rep"), "0\n1\n1\n1\na 0 16\n");
        Path fifo = folder.resolve("b.rep");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assumeTrue(mkfifo.waitFor() == 0, "mkfifo failed");
        Run run = run("replay", "--allocator", "glibc", folder.toString());
        assertEquals(2, run.exitCode(), run.err());
        assertEquals("malloc4j: not a regular file, in folder " + folder + ": " + fifo + " (a pipe, socket or device "
                + "cannot be replayed; copy the trace to a file)", run.err().lines().findFirst().orElseThrow());

        Files.delete(fifo);
        Files.createSymbolicLink(fifo, folder.resolve("gone.rep"));
        run = run("replay", "--allocator", "glibc", folder.toString());
        assertEquals(2, run.exitCode(), run.err());
        assertTrue(run.err().contains(fifo + " (" + folder.resolve("gone.rep") + " does not exist)"), run.err());
    }

    /**
     * A broken link named as a trace in a folder is named as one, with the missing file it leads to
     * or the loop of links, as a broken link given as an argument is: not as a file that is not
     * regular, to be copied to one.
     */
    @Test
    void aBrokenLinkNamedAsATraceInAFolderSaysWhereItLeads() throws Exception {
        Path dangling = Files.createDirectories(dir.resolve("with-dangling-link"));
        Files.writeString(dangling.resolve("a.rep"), SMALL);
        Path toNothing = Files.createSymbolicLink(dangling.resolve("b.rep"), Path.of("../missing/b.rep"));
        Path looping = Files.createDirectories(dir.resolve("with-looping-link"));
        Files.writeString(looping.resolve("a.rep"), SMALL);
        Path toItself = Files.createSymbolicLink(looping.resolve("b.rep"), Path.of("b.rep"));

        Run toNothingRun = run("replay", "--allocator", "glibc", dangling.toString());
        Run toItselfRun = run("replay", "--allocator", "glibc", looping.toString());

        assertEquals(2, toNothingRun.exitCode(), toNothingRun.err());
        assertEquals("malloc4j: a link that leads to no file or folder, in folder " + dangling + ": " + toNothing + " ("
                + dangling.resolve("../missing/b.rep") + " does not exist)",
                toNothingRun.err().lines().findFirst().orElseThrow());
        assertEquals(2, toItselfRun.exitCode(), toItselfRun.err());
        assertEquals("malloc4j: a link that leads to no file or folder, in folder " + looping + ": " + toItself
                + " (a loop of links)", toItselfRun.err().lines().findFirst().orElseThrow());
    }

    @Test
    void aFolderOrFileThatCannotBeLookedAtIsSkippedAndReportedAsAnUnreadableTraceIs() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("partly-locked"));
        Files.writeString(folder.resolve("open.rep"), SMALL);
        Path unreadable = Files.createDirectories(folder.resolve("unreadable"));
        Files.writeString(unreadable.resolve("a.rep"), SMALL);
        Path unsearchable = Files.createDirectories(folder.resolve("unsearchable"));
        Files.writeString(unsearchable.resolve("b.rep"), SMALL);
        Path inUnsearchable = unsearchable.resolve("b.rep");
        Files.setPosixFilePermissions(unreadable, PosixFilePermissions.fromString("-wx------"));
        Files.setPosixFilePermissions(unsearchable, PosixFilePermissions.fromString("rw-------"));
        try {
            assumeFalse(Files.isReadable(inUnsearchable), "permissions are not enforced for this user");
            Run run = run("replay", "--allocator", "glibc", "--repeat", "1", "--json", "-", folder.toString(),
                    inUnsearchable.toString());
            assertEquals(1, run.exitCode(), run.err());
            JsonNode report = JSON.readTree(run.out());
            assertEquals(List.of("open"), names(report.get("results"), "trace"));
            List<String> errors = new ArrayList<>();
            report.get("errors").forEach(error -> errors.add(error.get("file").asText() + ": "
                    + error.get("problem").asText()));
            assertEquals(List.of(unreadable + ": cannot be searched: permission denied",
                    unsearchable + ": cannot be searched: permission denied",
                    inUnsearchable + ": cannot be read: permission denied"), errors);
        } finally {
            Files.setPosixFilePermissions(unreadable, PosixFilePermissions.fromString("rwx------"));
            Files.setPosixFilePermissions(unsearchable, PosixFilePermissions.fromString("rwx------"));
        }
    }

    @Test
    void aRunThatBreaksSaysWhyInOneLineAndShowsTheStackTraceOnlyWithDebug() {
        for (boolean debug : new boolean[] {false, true}) {
            StringWriter err = new StringWriter();
            CommandLine commandLine = Main.commandLine(new PrintWriter(new StringWriter()), new PrintWriter(err));
            commandLine.addSubcommand("boom", CommandLine.Model.CommandSpec.wrapWithoutInspection(
                    (Callable<Integer>) () -> {
                        throw new UncheckedIOException(new AccessDeniedException("/some/folder"));
                    }));
            commandLine.setErr(new PrintWriter(err, true)); // to the subcommand too
            int exitCode = debug ? commandLine.execute("--debug", "boom") : commandLine.execute("boom");
            assertEquals(1, exitCode);
            String[] lines = err.toString().split("\\R");
            assertEquals("malloc4j: /some/folder: permission denied", lines[0]);
            assertEquals(debug, err.toString().contains("\tat "), err.toString());
            assertTrue(debug ? lines.length > 1 : lines.length == 1, err.toString());
        }
    }

    @Test
    void whenNoTraceCanBeReadTheReportSaysSoAndListsWhy() throws Exception {
        Path broken = Files.createDirectories(dir.resolve("broken"));
        byte[] whole;
        try (var bytes = new java.io.ByteArrayOutputStream(); var gzip = new GZIPOutputStream(bytes)) {
            gzip.write(SMALL.getBytes(StandardCharsets.US_ASCII));
            gzip.finish();
            whole = bytes.toByteArray();
        }
        Path file = Files.write(broken.resolve("cut.rep.gz"), Arrays.copyOf(whole, whole.length - 20));
        Run run = run("replay", "--allocator", "glibc,arena", file.toString());
        assertEquals(1, run.exitCode(), run.err());
        assertTrue(run.out().startsWith("malloc4j replay: no trace could be replayed\n"),
                run.out());
        assertTrue(run.out().contains("  " + file + ": the gzip data is truncated or corrupt (unexpected end of ZLIB "
                + "input stream)"), run.out());
        assertFalse(run.out().contains("java."), run.out());
        assertFalse(run.out().contains("0 allocators"), run.out());
        assertFalse(run.out().contains("Skipped"), run.out());

        Run json = run("replay", "--allocator", "glibc,arena", "--json", "-", file.toString());
        JsonNode report = JSON.readTree(json.out());
        assertEquals(List.of("glibc", "arena"), names(report.get("allocators"), "name"));
        for (JsonNode allocator : report.get("allocators")) {
            assertFalse(allocator.get("available").asBoolean(), allocator.toString());
            assertEquals("not run: no trace could be replayed", allocator.get("reason").asText());
        }
    }

    @Test
    void aTraceAndItsGzippedCopyAreTwoTracesWithNamesOfTheirOwn() throws Exception {
        Path both = Files.createDirectories(dir.resolve("both"));
        Files.writeString(both.resolve("a.rep"), SMALL);
        try (var gzip = new GZIPOutputStream(Files.newOutputStream(both.resolve("a.rep.gz")))) {
            gzip.write(SMALL.replace("a 4 4072", "a 4 100").getBytes(StandardCharsets.US_ASCII));
        }
        Run run = run("replay", "--allocator", "glibc", "--repeat", "1", "--json", "-", both.toString());
        assertEquals(0, run.exitCode(), run.err());
        JsonNode report = JSON.readTree(run.out());
        assertEquals(List.of("a.rep", "a.rep.gz"), names(report.get("traces"), "name"));
        assertEquals(List.of("a.rep", "a.rep.gz"), names(report.get("results"), "trace"));
        assertEquals(List.of("20368", "16396"), names(report.get("results"), "peakLiveBytes"));
        assertTrue(run.err().contains("malloc4j replay: 2 traces, 1 allocator, fastest of 1 timed pass per trace"),
                run.err());
        assertTrue(run.err().lines().anyMatch(line -> line.startsWith("  a.rep.gz ")), run.err());
    }

    private static List<String> names(JsonNode array, String field) {
        List<String> values = new ArrayList<>();
        array.forEach(node -> values.add(node.get(field).asText()));
        return values;
    }

    @Test
    void aWorkerJvmThatCannotStartFailsOnlyItsOwnAllocatorAndSaysWhy() throws Exception {
        WorkerLauncher.testEnvironment = Map.of("glibc", WorkerLauncherTest.OTHER_COLLECTOR);
        Run run;
        try {
            run = run("replay", "--allocator", "glibc,arena", "--repeat", "1", "--json", "-", traces.toString());
        } finally {
            WorkerLauncher.testEnvironment = Map.of();
        }
        assertEquals(1, run.exitCode(), run.err());
        assertFalse(run.err().contains("malloc4j: "), run.err());
        JsonNode report = JSON.readTree(run.out());
        assertEquals(1, report.get("exitCode").asInt());
        List<String> statuses = new ArrayList<>();
        report.get("results").forEach(result -> statuses.add(result.get("allocator").asText() + " "
                + result.get("trace").asText() + " " + result.get("status").asText()));
        assertEquals(List.of("glibc one FAILED", "glibc two FAILED", "arena one ok", "arena two ok"), statuses);
        String failure = report.get("results").get(0).get("failure").asText();
        assertTrue(failure.contains("the worker JVM exited with code 1 before it opened the allocator"), failure);
        assertTrue(failure.contains("Multiple garbage collectors selected"), failure);
        assertTrue(run.err().contains("FAILED replays:\n  glibc on all 2 traces: no result: the worker JVM "
                + "exited with code 1"), run.err());
    }

    /** The command's help starts with what it does, as the top level's starts with its usage: no blank line first. */
    @ParameterizedTest
    @CsvSource({"replay --help", "help replay"})
    void replaysHelpStartsWithItsHeaderAndThenItsUsage(String args) {
        Run run = run(args.split(" "));
        assertEquals(0, run.exitCode(), run.err());
        List<String> lines = run.out().lines().limit(3).toList();
        assertEquals("Replay allocation traces through malloc4j and the native allocators.", lines.get(0), run.out());
        assertEquals("", lines.get(1), run.out());
        assertTrue(lines.get(2).startsWith("Usage: malloc4j replay "), run.out());
    }

    /** picocli may break a line after a colon: CS:APP must not come out as "CS:" and "APP". */
    @ParameterizedTest
    @CsvSource({"--help", "replay --help", "help replay"})
    void helpSplitsNoNameAcrossLinesAt80Columns(String args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = Main.commandLine(new PrintWriter(out), new PrintWriter(err))
                .setUsageHelpAutoWidth(false)
                .setUsageHelpWidth(80);
        assertEquals(0, commandLine.execute(args.split(" ")), err.toString());
        String help = out.toString();
        assertTrue(help.lines().allMatch(line -> line.length() <= 80), help);
        assertEquals(count(help, "CS:"), count(help, "CS:APP"), help);
        if (!args.equals("--help")) {
            assertEquals(3, count(help, "CS:APP"), help);
        }
        // Picocli breaks a line after a dot or colon inside a name ("Arena." / "ofConfined()",
        // "generic." / "heap_size") where the width makes it: every such name of the help at a
        // width that wraps nothing must be whole at 80 columns.
        StringWriter wide = new StringWriter();
        Main.commandLine(new PrintWriter(wide), new PrintWriter(new StringWriter()))
                .setUsageHelpAutoWidth(false).setUsageHelpWidth(1000).execute(args.split(" "));
        Matcher names = Pattern.compile("[\\w(]*\\w[.:][\\w(][\\w.:()]*").matcher(wide.toString());
        while (names.find()) {
            String name = names.group();
            assertEquals(count(wide.toString(), name), count(help, name), name + " split at 80 columns:\n" + help);
        }
    }

    /**
     * A numbered step of the description wraps under its own text, as the exit codes and options
     * do; a plain paragraph wraps at the margin, as picocli's own description does.
     */
    @ParameterizedTest
    @CsvSource({"replay --help", "help replay"})
    void helpIndentsANumberedStepsWrappedLinesUnderItsText(String args) {
        StringWriter out = new StringWriter();
        CommandLine commandLine = Main.commandLine(new PrintWriter(out), new PrintWriter(new StringWriter()))
                .setUsageHelpAutoWidth(false)
                .setUsageHelpWidth(80);
        assertEquals(0, commandLine.execute(args.split(" ")));
        List<String> lines = out.toString().lines().toList();
        int first = lines.indexOf(lines.stream().filter(line -> line.startsWith("  1. ")).findFirst().orElseThrow());
        int second = lines.indexOf(lines.stream().filter(line -> line.startsWith("  2. ")).findFirst().orElseThrow());
        assertTrue(second - first > 3, out.toString());
        for (List<String> step : List.of(lines.subList(first + 1, second), lines.subList(second + 1, second + 2))) {
            for (String line : step) {
                assertTrue(line.startsWith("     ") && !line.startsWith("      "), line + " in\n" + out);
            }
        }
        assertTrue(lines.get(first - 1).matches("\\S.*"), lines.get(first - 1) + " in\n" + out);
        int measures = lines.indexOf(lines.stream().filter(line -> line.startsWith("Measures: ")).findFirst()
                .orElseThrow());
        assertTrue(lines.get(measures + 1).matches("\\S.*"), lines.get(measures + 1) + " in\n" + out);
    }

    private static int count(String text, String part) {
        return text.split(Pattern.quote(part), -1).length - 1;
    }

    @Test
    void helpSaysWhatTheTimedPassesTouch() {
        Run help = run("replay", "--help");
        assertEquals(0, help.exitCode());
        assertTrue(help.out().replaceAll("\\s+", " ").contains("touch no payload byte"), help.out());
    }

    @Test
    void noCommandIsAUsageErrorThatSaysSoInOneLineBeforeTheUsage() {
        Run run = run();
        assertEquals(2, run.exitCode());
        String first = run.err().lines().findFirst().orElse("");
        assertEquals("malloc4j: no command given; the main one is 'malloc4j replay'", first);
        assertTrue(run.err().contains("Usage: malloc4j"), run.err());
        assertEquals("", run.out());
    }
}
