package org.malloc4j.bench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Says which peers can run in this JVM, before a long run fails one by one on them.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
 *      -cp benchmarks.jar org.malloc4j.bench.PeerCheck [--jmh-excludes]
 * </pre>
 *
 * Without arguments it prints one line per peer. With {@code --jmh-excludes} it prints, on standard
 * output, one JMH exclude regexp per unavailable peer (for {@code -e}), and each reason on standard
 * error.
 */
public final class PeerCheck {
    private PeerCheck() {
    }

    /** A peer and why it cannot run (null: it can). */
    record Status(String peer, String problem) {
    }

    static List<Status> check() {
        List<Status> statuses = new ArrayList<>();
        statuses.add(new Status("malloc4j", problem(() -> {
            Peers.Malloc4j.HEAP.freeAddress(Peers.Malloc4j.HEAP.mallocAddress(64));
            return null;
        })));
        for (Natives.Library library : Natives.Library.values()) {
            statuses.add(new Status(library.peer(), library.problem()));
        }
        statuses.add(new Status("unsafe", problem(() -> {
            Peers.Unsafe.free(Peers.Unsafe.allocate(64));
            return null;
        })));
        statuses.add(new Status("netty", problem(() -> {
            Peers.NettyPooled.ALLOCATOR.directBuffer(64).release();
            Peers.NettyAdaptive.ALLOCATOR.directBuffer(64).release();
            return null;
        })));
        statuses.add(new Status("arrow", problem(() -> {
            Peers.Arrow arrow = new Peers.Arrow();
            arrow.open();
            arrow.root.buffer(64).close();
            arrow.close();
            return null;
        })));
        return statuses;
    }

    private static String problem(Supplier<String> attempt) {
        try {
            return attempt.get();
        } catch (Throwable t) {
            Throwable cause = t;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            return cause.toString();
        }
    }

    /** The command line, parsed by picocli; {@link #call} prints what {@link #check} finds. */
    @Command(name = "PeerCheck", sortOptions = false, usageHelpWidth = 100, description = {
        "Says which peers can run in this JVM: one line per peer, 'ok' or why not. Run it with the JVM options"
                + " the benchmarks get (--enable-native-access=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED):"
                + " without them, a peer that needs one shows as unavailable.",
        "Exit: 0, or 2 for bad arguments."})
    static final class Options extends ToolCommand {
        @Option(names = "--jmh-excludes", description = "Print instead one JMH exclude regexp (for -e) per peer"
                + " that cannot run, and why on standard error.")
        boolean jmhExcludes;

        @Override
        public Integer call() {
            PrintWriter out = out();
            for (Status status : check()) {
                if (jmhExcludes) {
                    if (status.problem() != null) {
                        out.println("\\." + status.peer());
                        err().println("skipping " + status.peer() + ": " + status.problem());
                    }
                } else {
                    out.printf("%-9s %s%n", status.peer(),
                            status.problem() == null ? "ok" : "UNAVAILABLE: " + status.problem());
                }
            }
            return 0;
        }
    }

    public static void main(String[] args) {
        ToolCommandLine.exit(new Options(), args);
    }
}
