package org.malloc4j.bench;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * What the module's tools' picocli commands share: {@code -h} / {@code --help}, the writers they print
 * to, and the refusal of a command line by what is wrong with it (run through {@link ToolCommandLine},
 * a refusal prints the problem and the usage and exits with 2).
 */
abstract class ToolCommand implements Callable<Integer> {
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Spec
    CommandSpec spec;

    /** @return the exception that refuses this command line for {@code problem} */
    final ParameterException refused(String problem) {
        return new ParameterException(spec.commandLine(), problem);
    }

    /** @return {@code name} as a path, if it names a regular file; otherwise refuses the command line */
    final Path existingFile(String name) {
        Path path = Path.of(name);
        if (!Files.isRegularFile(path)) {
            throw refused(name + " is not a file");
        }
        return path;
    }

    /**
     * Refuses {@code argument} as picocli refuses an option it does not know, if it looks like an option
     * (a letter after one or two dashes) and names no file. The tools take their file names as they come
     * ({@link ToolCommandLine}), a name that begins with '-' among them, so picocli hands a misspelt option
     * on as a file name; a tool that reads on past a file it cannot find would otherwise report it as a
     * missing file, with no usage.
     */
    final void refuseUnknownOption(String argument) {
        if (argument.matches("--?\\p{Alpha}.*") && !Files.exists(Path.of(argument))) {
            throw refused("Unknown option: '" + argument + "'");
        }
    }

    final PrintWriter out() {
        return spec.commandLine().getOut();
    }

    final PrintWriter err() {
        return spec.commandLine().getErr();
    }
}
