package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A program run in a JVM of its own, with this test run's class path, for what only a fresh JVM shows. */
public final class ChildJvm {
    /** What the program printed, standard error included, and how it exited. */
    public record Result(int exitCode, String output) {
        /** @return the program's lines {@code key: value}, by key (the last {@code ": "} splits them) */
        public Map<String, String> values() {
            Map<String, String> values = new HashMap<>();
            for (String line : output.lines().toList()) {
                int colon = line.lastIndexOf(": ");
                if (colon > 0) {
                    values.put(line.substring(0, colon), line.substring(colon + 2));
                }
            }
            return values;
        }
    }

    private ChildJvm() {
    }

    /**
     * @param options JVM options, after the JDK's own {@code java}
     * @param main the class whose {@code main} runs
     * @param args its arguments
     */
    public static Result run(List<String> options, Class<?> main, String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(options);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the program did not finish");
        return new Result(process.exitValue(), output);
    }
}
