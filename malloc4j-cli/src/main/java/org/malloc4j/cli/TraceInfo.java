package org.malloc4j.cli;

/**
 * A trace as the report lists it.
 *
 * @param name the trace's name
 * @param set its set (the folder it came from)
 * @param file where it came from: the path as given, or {@code bundled:set/file}
 * @param ops the number of requests
 * @param numIds the number of block ids
 * @param peakLiveBytes the most the live blocks' requested sizes ever summed to
 */
public record TraceInfo(String name, String set, String file, int ops, int numIds, long peakLiveBytes) {
    /** @return the listing of a parsed trace from {@code source} */
    static TraceInfo of(TraceSource source, Trace trace) {
        return new TraceInfo(trace.name(), trace.set(), source.display(), trace.opCount(), trace.numIds(),
                trace.peakLiveBytes());
    }
}
