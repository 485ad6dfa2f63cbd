package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PeerCheckTest {
    private static final List<String> PEERS = List.of("malloc4j", "glibc", "jemalloc", "mimalloc", "tcmalloc",
            "unsafe", "netty", "arrow");

    /**
     * Whichever peers this JVM can run (jemalloc loads only with GLIBC_TUNABLES set at its start), the list
     * names each, and the JMH excludes are exactly the ones it calls unavailable, each with a reason. (The
     * reasons themselves may differ: a peer whose class failed to initialize fails otherwise the second time.)
     */
    @Test
    void theExcludesAreThePeersTheListCallsUnavailable() {
        ToolRun list = ToolRun.of(new PeerCheck.Options());
        assertEquals(0, list.status(), list.toString());
        List<String> lines = list.out().lines().toList();
        assertEquals(PEERS, lines.stream().map(line -> line.substring(0, line.indexOf(' '))).toList(), list.out());
        List<String> unavailable = new ArrayList<>();
        for (String line : lines) {
            String said = line.substring(9).strip();
            assertTrue(said.equals("ok") || said.startsWith("UNAVAILABLE: "), line);
            if (!said.equals("ok")) {
                unavailable.add(line.substring(0, line.indexOf(' ')));
            }
        }
        assertEquals("malloc4j  ok", lines.get(0), "malloc4j runs in every JVM that builds it");

        ToolRun jmh = ToolRun.of(new PeerCheck.Options(), "--jmh-excludes");
        assertEquals(0, jmh.status(), jmh.toString());
        assertEquals(unavailable.stream().map(peer -> "\\." + peer).toList(), jmh.out().lines().toList());
        List<String> reasons = jmh.err().lines().toList();
        assertEquals(unavailable.size(), reasons.size(), jmh.toString());
        for (int i = 0; i < reasons.size(); i++) {
            assertTrue(reasons.get(i).startsWith("skipping " + unavailable.get(i) + ": ")
                    && reasons.get(i).length() > ("skipping " + unavailable.get(i) + ": ").length(), jmh.toString());
        }
    }

    @Test
    void helpPrintsTheUsageAndExitsWith0() {
        ToolRun.assertHelp(PeerCheck.Options::new, "Usage: PeerCheck [-h] [--jmh-excludes]");
    }

    /** Before picocli, a misspelt option printed the list, which compare would have read as excludes. */
    @Test
    void aMisspeltOptionIsAUsageError() {
        ToolRun run = ToolRun.of(new PeerCheck.Options(), "--jmh-exclude");
        assertEquals(2, run.status(), run.toString());
        assertTrue(run.err().startsWith("Unknown option: '--jmh-exclude'\nPossible solutions: --jmh-excludes\n"
                + "Usage: PeerCheck"), run.toString());
        assertEquals("", run.out());
    }
}
