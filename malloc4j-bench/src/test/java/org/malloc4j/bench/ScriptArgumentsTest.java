package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the benchmark scripts ({@code compare}, {@code ab}) say about arguments they refuse, before they
 * run anything. Run by bash over a copy of the scripts whose project build and JDK are fakes that say
 * when they are called, so that nothing is built or measured whatever the scripts do.
 */
class ScriptArgumentsTest {
    private static final Path BENCH = Path.of("").toAbsolutePath();
    private static final Path PROJECT = BENCH.getParent();

    @TempDir
    Path project;

    /** A fake build and JDK, and the scripts themselves. */
    @BeforeEach
    void layout() throws IOException {
        Files.createDirectories(project.resolve("malloc4j-bench/native"));
        for (String script : new String[] {"compare", "ab", "jar.sh", "native/build", "native/alloc_reference.c"}) {
            Files.copy(BENCH.resolve(script), project.resolve("malloc4j-bench").resolve(script));
        }
        Files.createDirectories(project.resolve("scripts"));
        Files.copy(PROJECT.resolve("scripts/find-jdk.sh"), project.resolve("scripts/find-jdk.sh"));
        executable(project.resolve("build"), "#!/bin/sh\necho \"build called: $*\"\n");
        Path bin = Files.createDirectories(project.resolve("jdk/bin"));
        executable(bin.resolve("java"), "#!/bin/sh\ncase \"$1\" in -XshowSettings*) "
                + "echo '    java.specification.version = 25' >&2; exit 0;; esac\necho \"java called: $*\"\n");
        executable(bin.resolve("javac"), "#!/bin/sh\nexit 0\n");
        executable(bin.resolve("jar"), "#!/bin/sh\necho \"jar called: $*\"\n");
    }

    /**
     * The native reference's refusal comes first and alone: no "failed; its rows are left out" before it, no
     * jar built, no peers checked by a JVM, no result folder made.
     */
    @Test
    void compareNativeRefusesTheProgramsBadOptionsBeforeAnythingElse() throws Exception {
        assumeTrue(onPath("gcc"), "the native reference needs gcc");
        Run run = run("compare", "--native", "--bogus");
        assertEquals(2, run.status(), run.output());
        assertTrue(run.output().startsWith("alloc_reference: unknown or incomplete option --bogus\nusage: "),
                run.output());
        assertTrue(run.output().endsWith("\ncompare: the native reference refuses these options (above): --bogus\n"),
                run.output());
        assertNothingElseRan(run);

        Run peers = run("compare", "--native", "--peers", "glibc,nope");
        assertEquals(2, peers.status(), peers.output());
        assertEquals("alloc_reference: --peers: no allocator is named nope (the allocators: glibc, jemalloc,"
                + " mimalloc, tcmalloc)\ncompare: the native reference refuses these options (above): --peers"
                + " glibc,nope\n", peers.output());
        assertNothingElseRan(peers);
    }

    /** It printed only the usage, which left the reader to find what was missing. */
    @Test
    void abSaysWhatIsMissingBeforeItsUsage() throws Exception {
        assertMissing("ab: no JMH selection given after the two jars: name the benchmarks to compare (a JMH"
                + " regexp, and its options if any)", "A.jar", "B.jar");
        assertMissing("ab: no JMH selection given after the two jars: name the benchmarks to compare (a JMH"
                + " regexp, and its options if any)", "--rounds", "2", "A.jar", "B.jar");
        assertMissing("ab: one jar given (A.jar): ab needs two, A.jar and B.jar, then a JMH selection", "A.jar");
        assertMissing("ab: no jars and no JMH selection given");
    }

    private void assertMissing(String message, String... args) throws Exception {
        Run run = run("ab", args);
        assertEquals(2, run.status(), run.output());
        assertTrue(run.output().startsWith(message + "\nUsage: malloc4j-bench/ab [--rounds N] A.jar B.jar"),
                run.output());
        assertNothingElseRan(run);
    }

    private void assertNothingElseRan(Run run) {
        for (String trace : new String[] {"build called", "java called", "jar called", "left out", "building"}) {
            assertFalse(run.output().contains(trace), trace + " in:\n" + run.output());
        }
        assertFalse(Files.exists(project.resolve("out")), "a result folder was made");
    }

    /** What a script printed, standard output and error together, and its exit status. */
    private record Run(int status, String output) {
    }

    private Run run(String script, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", project.resolve("malloc4j-bench").resolve(script)
                .toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("JAVA_HOME", project.resolve("jdk").toString());
        builder.environment().put("COMPARE_OUT", project.resolve("out").toString());
        builder.environment().put("AB_OUT", project.resolve("out").toString());
        builder.environment().remove("COMPARE_NATIVE");
        builder.redirectErrorStream(true);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the script did not finish");
        return new Run(process.exitValue(), output);
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        return path != null && Stream.of(path.split(":")).anyMatch(dir -> Files.isExecutable(Path.of(dir, program)));
    }

    private static void executable(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
