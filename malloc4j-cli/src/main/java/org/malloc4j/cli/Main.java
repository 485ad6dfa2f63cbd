package org.malloc4j.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * The {@code malloc4j} command. Subcommands: {@code replay} (see {@link ReplayCommand}), and the
 * hidden {@code worker} that {@code replay} runs in its child JVMs.
 */
@Command(name = "malloc4j", mixinStandardHelpOptions = true, version = "malloc4j 0.1.0-SNAPSHOT",
        scope = CommandLine.ScopeType.INHERIT,
        description = "Tools for malloc4j, the off-heap memory allocator for Java.",
        subcommands = {ReplayCommand.class, WorkerCommand.class, HelpCommand.class})
public final class Main implements Callable<Integer> {
    /** Exit code of a command line that is wrong. */
    public static final int USAGE = CommandLine.ExitCode.USAGE;

    /** The option that shows the Java stack trace of an error. */
    static final String DEBUG = "--debug";

    @Spec
    private CommandSpec spec;

    @Option(names = DEBUG, scope = CommandLine.ScopeType.INHERIT,
            description = "On an error, also print its Java stack trace.")
    private boolean debug;

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
        int exitCode = commandLine(out, err).execute(args);
        out.flush();
        err.flush();
        return exitCode;
    }

    /** @return the command, writing to {@code out} and {@code err}, with its error handlers */
    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine commandLine = new CommandLine(new Main());
        for (CommandLine command : commandLine.getSubcommands().values()) {
            command.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_DESCRIPTION,
                    new NumberedDescription());
        }
        return commandLine
                .setOut(out)
                .setErr(err)
                .setParameterExceptionHandler(Main::usageError)
                .setExecutionExceptionHandler(Main::failure);
    }

    /** Without a subcommand: a usage error, its one line first, then the usage. */
    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        err.println("malloc4j: no command given; the main one is 'malloc4j replay'");
        spec.commandLine().usage(err);
        return USAGE;
    }

    /**
     * A command that threw: one line, {@code malloc4j: what went wrong}, in words; the stack trace
     * only with {@value #DEBUG}.
     */
    private static int failure(Exception e, CommandLine commandLine, ParseResult parseResult) {
        PrintWriter err = commandLine.getErr();
        err.println("malloc4j: " + Units.printable(Problems.describe(e)));
        if (debugging(parseResult)) {
            e.printStackTrace(err);
        }
        err.flush();
        return ReplayReport.INCORRECT;
    }

    /** Prints the stack trace of {@code e}, an error a command reported itself, if {@value #DEBUG} was given. */
    static void traceIfDebugging(CommandSpec spec, Throwable e, PrintWriter err) {
        if (debugging(spec.root().commandLine().getParseResult())) {
            e.printStackTrace(err);
        }
    }

    private static boolean debugging(ParseResult parseResult) {
        for (ParseResult level = parseResult; level != null; level = level.subcommand()) {
            if (level.hasMatchedOption(DEBUG)) {
                return true;
            }
        }
        return false;
    }

    /**
     * @return what to say of a first argument that names no command ({@code malloc4j reply}), for which
     *     picocli says only "Unmatched arguments from index 0", or nothing if {@code e} is no such error
     */
    private static Optional<String> unknownCommand(CommandLine.ParameterException e) {
        CommandLine commandLine = e.getCommandLine();
        if (!(e instanceof CommandLine.UnmatchedArgumentException unmatched) || commandLine.getParent() != null
                || commandLine.getParseResult() == null || commandLine.getParseResult().hasSubcommand()
                || unmatched.getUnmatched().isEmpty() || unmatched.getUnmatched().get(0).startsWith("-")) {
            return Optional.empty();
        }
        return Optional.of(unknownCommandMessage(commandLine, unmatched.getUnmatched().get(0)));
    }

    /** @return what to say of {@code name}, no command of {@code tool}: the commands there are */
    static String unknownCommandMessage(CommandLine tool, String name) {
        List<String> commands = tool.getSubcommands().values().stream()
                .filter(Main::isListed)
                .map(CommandLine::getCommandName).toList();
        return "unknown command '" + name + "'; "
                + (commands.size() == 1 ? "the command is '" + commands.get(0) + "'"
                        : "the commands are: " + String.join(", ", commands));
    }

    /** @return whether {@code command} is one a mistyped command's message names: not hidden, not help */
    static boolean isListed(CommandLine command) {
        return !command.getCommandSpec().usageMessage().hidden() && !(command.getCommand() instanceof HelpCommand);
    }

    /**
     * @return {@code e}'s message, with its first letter in lower case, as the tool's own messages
     *     start after "malloc4j: ", if picocli made it ("Unknown option: ...", "Invalid value for
     *     option ..."): the tool's own, thrown as plain {@code ParameterException}s, may start with a
     *     path the user typed, which stays as it is
     */
    static String picocliMessageInLowerCase(CommandLine.ParameterException e) {
        String message = e.getMessage();
        boolean picocli = e.getClass() != CommandLine.ParameterException.class
                || message.startsWith("Invalid value for ");
        boolean capitalised = message.length() > 1 && Character.isUpperCase(message.charAt(0))
                && Character.isLowerCase(message.charAt(1));
        return picocli && capitalised ? Character.toLowerCase(message.charAt(0)) + message.substring(1) : message;
    }

    /** A usage error: the problem and where to find help, without the whole usage text. */
    private static int usageError(CommandLine.ParameterException e, String[] args) {
        CommandLine commandLine = e.getCommandLine();
        PrintWriter err = commandLine.getErr();
        // the message may name a file the user gave, whose name may hold any character
        err.println("malloc4j: " + Units.printable(unknownCommand(e).orElse(picocliMessageInLowerCase(e))));
        // A hidden command (the worker replay starts) lists no help of its own, and help's is of no
        // use for a command it does not know: point at the tool's.
        CommandLine helped = commandLine;
        while ((helped.getCommandSpec().usageMessage().hidden() || helped.getCommand() instanceof HelpCommand)
                && helped.getParent() != null) {
            helped = helped.getParent();
        }
        err.println("Try '" + helped.getCommandSpec().qualifiedName() + " --help' for more information.");
        err.flush();
        return USAGE;
    }
}
