package org.malloc4j.bench;

/**
 * Arguments every forked benchmark JVM gets, through {@code @Fork(jvmArgsAppend = ...)} on each
 * benchmark class. All of them are valid on every JDK from 22 on.
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

    private Jvm() {
    }
}
