package org.malloc4j.bench;

import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * memory-return's command line. Only what it refuses is run here: a refusal comes before any
 * measurement, and the measurements themselves take about 45 s and 1.2 GiB.
 */
class MemoryReturnTest {
    private static final Supplier<Object> COMMAND = MemoryReturn.Options::new;
    // Each case below is refused: one that is not would run its sections, for seconds to minutes.

    /** ',' once named no section and ran nothing, successfully; '' was an unknown section with no name shown. */
    @Test
    void anOnlyThatNamesNoSectionIsRefused() {
        ToolRun.assertRefused(COMMAND, "--only ',' names no section: give one or more of return, loop, touch,"
                + " vthreads, threads", "--only", ",");
        ToolRun.assertRefused(COMMAND, "--only '' names no section: give one or more of return, loop, touch,"
                + " vthreads, threads", "--only", "");
        ToolRun.assertRefused(COMMAND, "--only ',,' names no section: give one or more of return, loop, touch,"
                + " vthreads, threads", "--only=,,");
    }

    @Test
    void anEmptySectionNameAmongOthersIsRefused() {
        String emptyName = "has an empty section name: separate the sections with one comma, and leave none at"
                + " either end";
        ToolRun.assertRefused(COMMAND, "--only 'return,,loop' " + emptyName, "--only", "return,,loop");
        // Never a list of known sections and an empty name: before the fix such a list ran its sections.
        ToolRun.assertRefused(COMMAND, "--only 'bogus,' " + emptyName, "--only", "bogus,");
        ToolRun.assertRefused(COMMAND, "--only ',,bogus' " + emptyName, "--only", ",,bogus");
    }

    @Test
    void anUnknownSectionIsRefusedByItsQuotedName() {
        String sections = "the sections are return, loop, touch, vthreads, threads";
        ToolRun.assertRefused(COMMAND, "unknown section 'bogus': " + sections, "--only", "return,bogus");
        ToolRun.assertRefused(COMMAND, "unknown section ' loop': " + sections, "--only", "return, loop");
        ToolRun.assertRefused(COMMAND, "unknown section 'nope': " + sections, "--only", "loop", "--only", "nope");
    }

    @Test
    void helpPrintsTheUsageAndExitsWith0() {
        ToolRun.assertHelp(COMMAND, "Usage: memory-return [-h] [--json=FILE] [--only=SECTION[,SECTION...]]...");
    }
}
