package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.function.Supplier;

/** What one of the module's tools did when its command line ran: its exit status and what it printed. */
record ToolRun(int status, String out, String err) {
    /** @return what {@code command} does with {@code args}, run as its {@code main} runs it but without exiting */
    static ToolRun of(Object command, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = ToolCommandLine.execute(command, new PrintWriter(out), new PrintWriter(err), args);
        return new ToolRun(status, out.toString(), err.toString());
    }

    /**
     * Asserts that {@code -h} and {@code --help} each print the usage, starting with {@code usage}, on
     * standard output and exit with 0.
     */
    static void assertHelp(Supplier<?> command, String usage) {
        for (String help : new String[] {"-h", "--help"}) {
            ToolRun run = of(command.get(), help);
            assertEquals(0, run.status(), run.toString());
            assertTrue(run.out().startsWith(usage), run.toString());
            assertEquals("", run.err());
        }
    }

    /**
     * Asserts that {@code args} are refused: exit status 2, {@code message} and then the usage on standard
     * error, nothing on standard output.
     */
    static void assertRefused(Supplier<?> command, String message, String... args) {
        ToolRun run = of(command.get(), args);
        assertEquals(2, run.status(), run.toString());
        assertTrue(run.err().startsWith(message + "\nUsage: "), run.toString());
        assertEquals("", run.out());
    }

    /** @return this run as text, for an assertion's message */
    @Override
    public String toString() {
        return "status " + status + "\n--- out:\n" + out + "--- err:\n" + err;
    }
}
