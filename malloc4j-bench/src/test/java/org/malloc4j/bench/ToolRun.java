package org.malloc4j.bench;

import java.io.PrintWriter;
import java.io.StringWriter;

/** What one of the module's tools did when its command line ran: its exit status and what it printed. */
record ToolRun(int status, String out, String err) {
    /** @return what {@code command} does with {@code args}, run as its {@code main} runs it but without exiting */
    static ToolRun of(Object command, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = ToolCommandLine.execute(command, new PrintWriter(out), new PrintWriter(err), args);
        return new ToolRun(status, out.toString(), err.toString());
    }

    /** @return this run as text, for an assertion's message */
    @Override
    public String toString() {
        return "status " + status + "\n--- out:\n" + out + "--- err:\n" + err;
    }
}
