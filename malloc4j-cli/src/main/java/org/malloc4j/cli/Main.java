package org.malloc4j.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code malloc4j} command. Subcommands: {@code replay} (see {@link ReplayCommand}), and the
 * hidden {@code worker} that {@code replay} runs in its child JVMs.
 */
@Command(name = "malloc4j", mixinStandardHelpOptions = true, version = "malloc4j 0.1.0-SNAPSHOT",
        scope = CommandLine.ScopeType.INHERIT,
        description = "Tools for malloc4j, the off-heap memory allocator for Java.",
        subcommands = {ReplayCommand.class, WorkerCommand.class})
public final class Main implements Callable<Integer> {
    /** Exit code of a command line that is wrong. */
    public static final int USAGE = CommandLine.ExitCode.USAGE;

    @Spec
    private CommandSpec spec;

    /**
     * Runs the command and exits with its exit code.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out), new PrintWriter(System.err), args));
    }

    /**
     * Runs the command in this JVM.
     *
     * @param out standard output
     * @param err standard error
     * @param args the command line
     * @return the exit code: 0 success, 1 a failed replay or a bad trace, 2 a usage error
     */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine commandLine = new CommandLine(new Main())
                .setOut(out)
                .setErr(err)
                .setParameterExceptionHandler(Main::usageError);
        int exitCode = commandLine.execute(args);
        out.flush();
        err.flush();
        return exitCode;
    }

    /** Without a subcommand: the usage, as an error. */
    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return USAGE;
    }

    /** A usage error: the problem and where to find help, without the whole usage text. */
    private static int usageError(CommandLine.ParameterException e, String[] args) {
        CommandLine commandLine = e.getCommandLine();
        PrintWriter err = commandLine.getErr();
        err.println("malloc4j: " + e.getMessage());
        err.println("Try '" + commandLine.getCommandSpec().qualifiedName() + " --help' for more information.");
        err.flush();
        return USAGE;
    }
}
