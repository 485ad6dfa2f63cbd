package org.malloc4j.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

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

    public static void main(String[] args) {
        boolean excludes = args.length > 0 && args[0].equals("--jmh-excludes");
        for (Status status : check()) {
            if (excludes) {
                if (status.problem() != null) {
                    System.out.println("\\." + status.peer());
                    System.err.println("skipping " + status.peer() + ": " + status.problem());
                }
            } else {
                System.out.printf("%-9s %s%n", status.peer(), status.problem() == null ? "ok" : "UNAVAILABLE: " + status.problem());
            }
        }
    }
}
