package org.malloc4j.cli;

/**
 * A worker's note that it starts a trace.
 *
 * @param index the trace's position, from 1
 * @param count the number of traces the worker replays
 * @param trace the trace's name
 */
public record WorkerProgress(int index, int count, String trace) {
}
