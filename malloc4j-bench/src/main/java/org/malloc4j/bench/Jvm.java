package org.malloc4j.bench;

/**
 * Arguments every forked benchmark JVM gets, through {@code @Fork(jvmArgsAppend = ...)} on each
 * benchmark class. All of them are valid on every JDK from 22 on.
 *
 * <p>Every fork gets the three {@code HEAP_*} arguments: a Java heap of a fixed size whose memory
 * is touched before the first benchmark runs, as the reference numbers behind the performance
 * targets were measured. On the VMs this suite runs on, the first touch of a fresh OS page costs
 * 2-13 µs, and G1 grows its heap during a run: a peer that makes garbage then ran at two speeds by
 * turns, fast on young regions touched already and slow on fresh ones. A one-block
 * {@code Heap.newScope()} (about 570 B of Java garbage) took 55-70 ns in some 150 ms slices of one
 * JVM and 1,200-1,500 ns in others, with no collection and no compilation between them; with the
 * heap pre-touched, 53-66 ns in every slice. The machine's own two speeds (README.md, "Two speeds")
 * remain.
 *
 * <p>{@code compare} also puts the heap in transparent huge pages where Linux offers them
 * ({@code -XX:+UseTransparentHugePages}, an option only Linux builds of the JDK know, so it is not
 * here): the pre-touch then takes a fraction of a second instead of 2-5 s a fork.
 */
final class Jvm {
    /** FFM downcalls and {@code reinterpret} (malloc4j itself and the native peers). */
    static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";
    /** Arrow's {@code MemoryUtil} reads {@code java.nio.Buffer.address} reflectively. */
    static final String OPEN_NIO = "--add-opens=java.base/java.nio=ALL-UNNAMED";
    /**
     * Netty samples one buffer in 128 for leak tracking by default; off, the peer is measured at its
     * fastest (and so is Arrow, which has no such sampling).
     */
    static final String NO_NETTY_LEAK_DETECTION = "-Dio.netty.leakDetection.level=disabled";
    /**
     * Netty 4.2 stops using {@code sun.misc.Unsafe} by default on Java 25+ (unless the JVM runs with
     * {@code --sun-misc-unsafe-memory-access=allow}) and falls back to slower {@code ByteBuffer}
     * access; this lets it use Unsafe, its fastest path, on every JDK.
     */
    static final String NETTY_UNSAFE = "-Dio.netty.noUnsafe=false";

    /** The fixed heap: room for every benchmark's garbage and for 100,000 virtual threads. */
    static final String HEAP_MIN = "-Xms2g";
    static final String HEAP_MAX = "-Xmx2g";
    /** Touches the whole heap at start-up, before the first benchmark. */
    static final String HEAP_PRE_TOUCH = "-XX:+AlwaysPreTouch";

    private Jvm() {
    }
}
