package org.malloc4j.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;

/**
 * The lines a worker process and its parent exchange: one JSON object a line, whose {@code "type"}
 * says what it holds. The parent writes on the worker's standard input a {@code "trace"}
 * ({@link TraceSource}) per trace to replay; the worker writes on its standard output
 * {@code "allocator"} ({@link AllocatorStatus}, the first line), {@code "progress"}
 * ({@link WorkerProgress}, before each trace) and {@code "result"} ({@link TraceResult}, after each
 * trace).
 */
final class WorkerProtocol {
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private static final String TYPE = "type";

    private WorkerProtocol() {
    }

    /**
     * @return the line that carries {@code message}: a TraceSource, AllocatorStatus, WorkerProgress
     *     or TraceResult
     */
    static String write(Object message) {
        ObjectNode node = JSON.valueToTree(message);
        node.put(TYPE, typeOf(message));
        try {
            return JSON.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * @param line a line of a worker's output
     * @return the message it carries, or null if it is not a protocol line (something a native
     *     library printed, say)
     */
    static Object read(String line) {
        if (!line.startsWith("{")) {
            return null;
        }
        try {
            JsonNode node = JSON.readTree(line);
            return switch (node.path(TYPE).asText()) {
                case "allocator" -> JSON.treeToValue(node, AllocatorStatus.class);
                case "progress" -> JSON.treeToValue(node, WorkerProgress.class);
                case "result" -> JSON.treeToValue(node, TraceResult.class);
                case "trace" -> JSON.treeToValue(node, TraceSource.class);
                default -> null;
            };
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private static String typeOf(Object message) {
        return switch (message) {
            case AllocatorStatus status -> "allocator";
            case WorkerProgress progress -> "progress";
            case TraceResult result -> "result";
            case TraceSource source -> "trace";
            default -> throw new IllegalArgumentException("not a worker message: " + message);
        };
    }
}
