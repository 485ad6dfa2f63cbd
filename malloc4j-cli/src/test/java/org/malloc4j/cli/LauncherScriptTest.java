package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The {@code malloc4j} launcher at the top of the project: it builds the command's jar again when a
 * file the jar is made from is newer. Run by bash over a copy of the project's layout whose
 * {@code build} and JDK are fakes that say what they were asked to do.
 */
class LauncherScriptTest {
    private static final Path PROJECT = Path.of("..").toAbsolutePath().normalize();
    private static final FileTime JAR_TIME = FileTime.from(Instant.parse("2020-01-01T00:00:00Z"));
    private static final FileTime OLDER = FileTime.from(Instant.parse("2019-01-01T00:00:00Z"));

    @TempDir
    Path project;

    @ParameterizedTest
    @ValueSource(strings = {"pom.xml", "malloc4j-core/pom.xml", "malloc4j-cli/pom.xml",
        "malloc4j-core/src/main/java/X.java", "malloc4j-cli/src/main/resources/x.txt"})
    void aSourceOrBuildFileNewerThanTheJarBuildsItAgain(String newer) throws Exception {
        layout();
        Files.setLastModifiedTime(Files.writeString(project.resolve(newer), "changed"), FileTime.from(Instant.now()));

        String output = launch();

        assertTrue(output.contains("build called: -q -DskipTests -pl malloc4j-cli -am package"), output);
        assertTrue(output.contains("java called:"), output);
    }

    @Test
    void aJarNewerThanEverythingItIsMadeFromIsRunAsItIs() throws Exception {
        layout();

        String output = launch();

        assertFalse(output.contains("build called"), output);
        assertTrue(output.contains("java called: --enable-native-access=ALL-UNNAMED -jar "), output);
    }

    /**
     * Linked from a folder on the PATH ({@code ~/bin}, say), the launcher and the build script find
     * the project where the link leads, not beside the link.
     */
    @Test
    void aLinkToTheLauncherOrTheBuildScriptRunsTheProjectItLeadsTo(@TempDir Path bin) throws Exception {
        layout();
        Files.copy(PROJECT.resolve("build"), project.resolve("build"), StandardCopyOption.REPLACE_EXISTING);
        executable(project.resolve("jdk/bin/mvn"), "#!/bin/sh\necho \"mvn called: $*\"\n");
        Files.createSymbolicLink(bin.resolve("malloc4j"), project.resolve("malloc4j"));
        Files.createSymbolicLink(bin.resolve("build"), project.resolve("build"));

        String launched = launch(bin.resolve("malloc4j"), "replay");
        assertTrue(launched.contains("java called: --enable-native-access=ALL-UNNAMED -jar "
                + project.resolve("malloc4j-cli/target/malloc4j.jar")), launched);
        String built = launch(bin.resolve("build"), "test");
        assertTrue(built.contains("mvn called: -B -ntp verify"), built);
    }

    /**
     * The benchmark scripts, linked from elsewhere, find their jar beside themselves too, where
     * they stopped with 'scripts/find-jdk.sh: No such file or directory' beside the link.
     */
    @Test
    void aLinkToABenchmarkScriptRunsTheProjectItLeadsTo(@TempDir Path bin) throws Exception {
        layout();
        Path bench = Files.createDirectories(project.resolve("malloc4j-bench"));
        Files.copy(PROJECT.resolve("malloc4j-bench/memory-return"), bench.resolve("memory-return"));
        Files.copy(PROJECT.resolve("malloc4j-bench/jar.sh"), bench.resolve("jar.sh"));
        Files.setLastModifiedTime(Files.writeString(bench.resolve("pom.xml"), "as built"), OLDER);
        Files.setLastModifiedTime(Files.createDirectories(bench.resolve("src")), OLDER);
        Path jar = Files.createDirectories(bench.resolve("target")).resolve("benchmarks.jar");
        Files.setLastModifiedTime(Files.writeString(jar, "jar"), JAR_TIME);
        Files.setLastModifiedTime(bench, OLDER);
        Files.createSymbolicLink(bin.resolve("memory-return"), bench.resolve("memory-return"));

        String launched = launch(bin.resolve("memory-return"), "--only");
        assertTrue(launched.contains("java called: --enable-native-access=ALL-UNNAMED -cp " + jar
                + " org.malloc4j.bench.MemoryReturn --only"), launched);
    }

    /** The files the launcher looks at, all older than the jar, with a fake build and JDK. */
    private void layout() throws IOException {
        Files.createDirectories(project.resolve("scripts"));
        Files.copy(PROJECT.resolve("malloc4j"), project.resolve("malloc4j"));
        Files.copy(PROJECT.resolve("scripts/find-jdk.sh"), project.resolve("scripts/find-jdk.sh"));
        executable(project.resolve("build"), "#!/bin/sh\necho \"build called: $*\"\n");
        for (String file : new String[] {"pom.xml", "malloc4j-core/pom.xml", "malloc4j-cli/pom.xml",
            "malloc4j-core/src/main/java/X.java", "malloc4j-cli/src/main/resources/x.txt"}) {
            Files.createDirectories(project.resolve(file).getParent());
            Files.setLastModifiedTime(Files.writeString(project.resolve(file), "as built"), OLDER);
        }
        // folders too: find -newer looks at them, and making their files made them new
        try (var paths = Files.walk(project)) {
            for (Path folder : paths.filter(Files::isDirectory).toList()) {
                Files.setLastModifiedTime(folder, OLDER);
            }
        }
        Path jar = project.resolve("malloc4j-cli/target/malloc4j.jar");
        Files.createDirectories(jar.getParent());
        Files.setLastModifiedTime(Files.writeString(jar, "jar"), JAR_TIME);
        Path bin = Files.createDirectories(project.resolve("jdk/bin"));
        executable(bin.resolve("java"), "#!/bin/sh\ncase \"$1\" in -XshowSettings*) "
                + "echo '    java.specification.version = 25' >&2; exit 0;; esac\necho \"java called: $*\"\n");
        executable(bin.resolve("javac"), "#!/bin/sh\nexit 0\n");
    }

    private String launch() throws IOException, InterruptedException {
        return launch(project.resolve("malloc4j"), "replay");
    }

    private String launch(Path script, String argument) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder("bash", script.toString(), argument);
        builder.environment().put("JAVA_HOME", project.resolve("jdk").toString());
        builder.redirectErrorStream(true);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the launcher did not finish");
        assertEquals(0, process.exitValue(), output);
        return output;
    }

    private static void executable(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
}
