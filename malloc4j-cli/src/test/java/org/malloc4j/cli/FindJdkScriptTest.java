package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code scripts/find-jdk.sh}, which the README's two commands source to find a JDK 22 or later:
 * run by bash, as they run it ({@code set -euo pipefail}), over fake JDKs whose {@code java}
 * prints what a real one prints, or fails.
 */
class FindJdkScriptTest {
    private static final Path SCRIPT = Path.of("..", "scripts", "find-jdk.sh").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    /** A JAVA_HOME that cannot serve is named with why, and the next suitable JDK is taken. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "echo 'Unrecognized option' >&2; exit 1               | does not start: Unrecognized option;",
        "echo '    java.specification.version = 17' >&2       | is JDK 17, older than 22;",
        "echo '    java.specification.version = 1.8' >&2      | is JDK 8, older than 22;"})
    void aJdkThatCannotServeIsPassedOverForTheNextSuitableOne(String javaBody, String warning) throws Exception {
        Path unsuitable = fakeJdk("unsuitable", javaBody);
        Path good = fakeJdk("good", "echo '    java.specification.version = 22' >&2");

        Result result = findJdk(unsuitable, good.resolve("bin"));

        assertEquals(0, result.exitCode(), result.output());
        assertTrue(result.output().contains("JAVA_HOME=" + good), result.output());
        assertTrue(result.output().contains("JAVA_HOME=" + unsuitable + " " + warning), result.output());
    }

    /** A JAVA_HOME that does not exist, or holds no JDK, is named as such, and the next suitable JDK is taken. */
    @Test
    void aMissingJavaHomeOrOneWithoutAJdkIsNamedAsSuch() throws Exception {
        Path good = fakeJdk("good", "echo '    java.specification.version = 22' >&2");
        Path missing = dir.resolve("no-such-jdk");
        Path empty = Files.createDirectories(dir.resolve("not-a-jdk"));
        Path jre = Files.createDirectories(dir.resolve("jre/bin")).getParent();
        executable(jre.resolve("bin/java"), "#!/bin/sh\necho '    java.specification.version = 22' >&2\n");

        Result gone = findJdk(missing, good.resolve("bin"));
        Result notJdk = findJdk(empty, good.resolve("bin"));
        Result onlyJre = findJdk(jre, good.resolve("bin"));

        assertEquals(0, gone.exitCode(), gone.output());
        assertTrue(gone.output().contains("JAVA_HOME=" + missing + " does not exist;"), gone.output());
        assertEquals(0, notJdk.exitCode(), notJdk.output());
        assertTrue(notJdk.output().contains("JAVA_HOME=" + empty + " has no bin/java (is it not a JDK?)"),
                notJdk.output());
        assertTrue(notJdk.output().contains("JAVA_HOME=" + good), notJdk.output());
        assertEquals(0, onlyJre.exitCode(), onlyJre.output());
        assertTrue(onlyJre.output().contains("JAVA_HOME=" + jre + " has no bin/javac (is it a JRE?)"),
                onlyJre.output());
    }

    @Test
    void whenNoJdkStartsTheMessageSaysWhyInsteadOfAskingForAnInstall() throws Exception {
        Path broken = fakeJdk("broken", "echo 'NOTE: Picked up JDK_JAVA_OPTIONS: -XX:+BogusFlag' >&2; "
                + "echo 'Error occurred during initialization of VM' >&2; "
                + "echo \"Unrecognized VM option 'BogusFlag'\" >&2; exit 1");

        Result result = findJdk(broken, broken.resolve("bin"), "/nonexistent");

        assertEquals(1, result.exitCode(), result.output());
        // Named once, though it is both JAVA_HOME and the java on PATH.
        assertTrue(result.output().contains("found JDKs that do not start: " + broken
                + " (Unrecognized VM option 'BogusFlag').\n"), result.output());
        assertTrue(result.output().contains("check JAVA_TOOL_OPTIONS and JDK_JAVA_OPTIONS"), result.output());
    }

    @Test
    void whenOnlyOlderJdksAreFoundTheMessageNamesThemWithTheirVersions() throws Exception {
        Path onPath = fakeJdk("jdk-17", "echo '    java.specification.version = 17' >&2");
        Path home = fakeJdk("jdk-21", "echo '    java.specification.version = 21' >&2");

        Result result = findJdk(home, onPath.resolve("bin"), "/nonexistent");

        assertEquals(1, result.exitCode(), result.output());
        assertTrue(result.output().contains("malloc4j: no JDK 22 or later found"), result.output());
        assertTrue(result.output().contains("malloc4j: found JDKs older than 22: " + home + " (JDK 21), " + onPath
                + " (JDK 17).\n"), result.output());
    }

    /**
     * JDKs too old and JDKs that do not start are named apart: the first with their versions, the
     * others with the error. A JDK whose java exits with an error has not started, whatever version
     * it printed first, so it is neither taken nor called older.
     */
    @Test
    void whenSomeJdksAreOlderAndOthersDoNotStartTheMessageTellsThemApart() throws Exception {
        Path older = fakeJdk("jdk-17", "echo '    java.specification.version = 17' >&2");
        Path jvm = Files.createDirectories(dir.resolve("jvm"));
        Path broken = fakeJdk("jvm/jdk-25", "echo 'Error: could not find libjvm.so' >&2; exit 1");
        Path failing = fakeJdk("jvm/jdk-26", "case \"$*\" in *-XshowSettings*) "
                + "echo '    java.specification.version = 26' >&2;; esac; "
                + "echo 'Error: lib/modules is corrupt' >&2; exit 1");

        Result result = findJdk(older, older.resolve("bin"), jvm.toString());

        assertEquals(1, result.exitCode(), result.output());
        assertFalse(result.output().contains("only older"), result.output());
        assertTrue(result.output().contains("malloc4j: found JDKs older than 22: " + older + " (JDK 17).\n"),
                result.output());
        assertTrue(result.output().contains("malloc4j: found JDKs that do not start: " + failing
                + " (Error: lib/modules is corrupt); " + broken + " (Error: could not find libjvm.so).\n"),
                result.output());
    }

    @Test
    void pathsWithSpacesOrQuotesArePrintedAsAShellReadsThemBack() throws Exception {
        Path older = fakeJdk("jdk 17", "echo '    java.specification.version = 17' >&2");
        Path gone = dir.resolve("it's gone");
        String quotedGone = "'" + dir + "/it'\\''s gone'";

        Result result = findJdk(gone, older.resolve("bin"), "/nonexistent");

        assertEquals(1, result.exitCode(), result.output());
        assertTrue(result.output().contains("malloc4j: JAVA_HOME=" + quotedGone + " does not exist;"), result.output());
        assertTrue(result.output().contains("(looked at JAVA_HOME=" + quotedGone + ", java on PATH"), result.output());
        assertTrue(result.output().contains("malloc4j: found JDKs older than 22: '" + older + "' (JDK 17).\n"),
                result.output());
    }

    /** With no JAVA_HOME at all, the last line says so, rather than quoting an empty value. */
    @Test
    void anUnsetJavaHomeIsNamedAsUnset() throws Exception {
        Path older = fakeJdk("jdk-17-alone", "echo '    java.specification.version = 17' >&2");

        Result unset = findJdk(null, older.resolve("bin"), "/nonexistent");
        assertEquals(1, unset.exitCode(), unset.output());
        assertTrue(unset.output().contains("(looked at JAVA_HOME (unset), java on PATH"), unset.output());

        Result empty = findJdk(Path.of(""), older.resolve("bin"), "/nonexistent");
        assertEquals(1, empty.exitCode(), empty.output());
        assertTrue(empty.output().contains("(looked at JAVA_HOME='', java on PATH"), empty.output());
    }

    private record Result(int exitCode, String output) {
    }

    private Result findJdk(Path javaHome, Path pathDir) throws IOException, InterruptedException {
        return findJdk(javaHome, pathDir, "/usr/lib/jvm");
    }

    /**
     * Sources the script and calls it with {@code javaHome} set and {@code pathDir} first on PATH,
     * its {@code /usr/lib/jvm} read as {@code jvmDir}; with {@code javaHome} null, JAVA_HOME unset.
     */
    private Result findJdk(Path javaHome, Path pathDir, String jvmDir) throws IOException, InterruptedException {
        String script = Files.readString(SCRIPT).replace("/usr/lib/jvm/", jvmDir + "/");
        ProcessBuilder builder = new ProcessBuilder("bash", "-c",
                "set -euo pipefail; eval \"$0\"; malloc4j_find_jdk; echo \"JAVA_HOME=$JAVA_HOME\"", script);
        if (javaHome == null) {
            builder.environment().remove("JAVA_HOME");
        } else {
            builder.environment().put("JAVA_HOME", javaHome.toString());
        }
        builder.environment().put("PATH", pathDir + ":/usr/bin:/bin");
        builder.redirectErrorStream(true);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "find-jdk.sh did not finish");
        return new Result(process.exitValue(), output);
    }

    /** A directory with {@code bin/java} running {@code body} and an empty {@code bin/javac}. */
    private Path fakeJdk(String name, String body) throws IOException {
        Path bin = Files.createDirectories(dir.resolve(name).resolve("bin"));
        executable(bin.resolve("java"), "#!/bin/sh\n" + body + "\n");
        executable(bin.resolve("javac"), "#!/bin/sh\nexit 0\n");
        return bin.getParent();
    }

    private static void executable(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
