/**
 * JMH benchmarks of malloc4j against its peers: glibc, jemalloc, mimalloc and tcmalloc called
 * through FFM, {@code Arena.ofConfined()}/{@code ofShared()} per block, {@code sun.misc.Unsafe},
 * Netty's pooled and adaptive allocators, and Arrow's {@code RootAllocator}.
 *
 * <p>One concept per class; every peer of a concept is a method of that class, so one run compares
 * them all. Methods marked {@link org.malloc4j.bench.Baseline} are what {@link
 * org.malloc4j.bench.RatioTable} divides by. Peers whose native library is missing fail their
 * {@code @Setup} with a {@link org.malloc4j.bench.PeerUnavailableException} naming the reason (JMH
 * reports it and goes on with the next benchmark); {@link org.malloc4j.bench.PeerCheck} lists them
 * beforehand so the {@code compare} script can exclude them.
 */
package org.malloc4j.bench;
