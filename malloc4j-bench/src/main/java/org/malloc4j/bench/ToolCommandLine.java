package org.malloc4j.bench;

import java.io.PrintStream;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * How the module's small tools ({@link RatioTable}, {@link ForkMedians}, {@link AbTable}, ...) run their
 * picocli commands, so that they read their arguments alike: {@code -h} or {@code --help} prints the
 * usage and exits with 0; arguments picocli or the command refuses print the problem and the usage on
 * standard error and exit with 2; otherwise the exit status is the command's own.
 */
final class ToolCommandLine {
    private ToolCommandLine() {
    }

    /** Runs {@code command} on the process's standard output and error, and exits with its status. */
    static void exit(Object command, String[] args) {
        System.exit(execute(command, writer(System.out), writer(System.err), args));
    }

    /**
     * @param command a picocli {@code @Command} that writes through its command line's {@code getOut()}
     *     and {@code getErr()}
     * @return the exit status
     */
    static int execute(Object command, PrintWriter out, PrintWriter err, String... args) {
        int status = commandLine(command, out, err).execute(args);
        // A table printed without a line end stays in the writer otherwise.
        out.flush();
        err.flush();
        return status;
    }

    /** @return the command line of {@code command}, writing to {@code out} and {@code err} */
    static CommandLine commandLine(Object command, PrintWriter out, PrintWriter err) {
        return new CommandLine(command)
                // The tools take file names, which may begin with '@' or '-' as they did before picocli read
                // them: such a name is an argument, not a file of arguments or an unknown option.
                .setExpandAtFiles(false)
                .setUnmatchedOptionsArePositionalParams(true)
                .setParameterExceptionHandler(ToolCommandLine::usageError)
                .setOut(out)
                .setErr(err);
    }

    /**
     * picocli's own handler prints its suggestions for a misspelt option instead of the usage; the usage
     * follows them here, so that every refused command line shows it.
     */
    private static int usageError(ParameterException e, String[] args) {
        CommandLine commandLine = e.getCommandLine();
        PrintWriter err = commandLine.getErr();
        err.println(e.getMessage());
        UnmatchedArgumentException.printSuggestions(e, err);
        commandLine.usage(err);
        return commandLine.getCommandSpec().exitCodeOnInvalidInput();
    }

    /**
     * picocli's own writers encode in UTF-8 whatever the console's charset; the tools printed through
     * {@code System.out} and {@code System.err} before, in theirs, and scripts keep what they print.
     */
    private static PrintWriter writer(PrintStream stream) {
        return new PrintWriter(stream, true, stream.charset());
    }
}
