package org.malloc4j.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code malloc4j help [command]}: the usage of the tool, or of one of its commands, as
 * {@code --help} prints it. A command it does not list (the hidden worker) is unknown here too.
 */
@Command(name = "help", description = "Print the usage of malloc4j, or of the command named.")
final class HelpCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Parameters(arity = "0..1", paramLabel = "COMMAND", description = "the command whose usage to print")
    private String command;

    @Override
    public Integer call() {
        CommandLine tool = spec.commandLine().getParent();
        if (command == null) {
            tool.usage(tool.getOut());
            return CommandLine.ExitCode.OK;
        }
        CommandLine named = tool.getSubcommands().get(command);
        // help itself is no command a mistyped name's message lists, but it has a usage to print.
        if (named == null || !Main.isListed(named) && !(named.getCommand() instanceof HelpCommand)) {
            throw new CommandLine.ParameterException(spec.commandLine(), Main.unknownCommandMessage(tool, command));
        }
        named.usage(tool.getOut());
        return CommandLine.ExitCode.OK;
    }
}
