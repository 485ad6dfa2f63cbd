package org.malloc4j.bench;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * JSON in and out of the benchmark tools, through Jackson: JMH's {@code -rf json} results read as
 * plain maps and lists, and memory-return's report written from them.
 */
final class Json {
    /** Thread-safe once configured; a document with anything after its value is refused, not cut short. */
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Json() {
    }

    /**
     * @return {@code text}'s value: objects as {@code Map}s in their order, arrays as {@code List}s,
     *     numbers as {@code Number}s, and strings, booleans and null as what they are
     * @throws IllegalArgumentException if {@code text} is not one JSON value, naming the line and
     *     column where it stops being one
     */
    static Object parse(String text) {
        try {
            return MAPPER.readValue(text, Object.class);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            // Jackson names the source it was not told to keep; the place is named already.
            String why = e.getOriginalMessage().replaceAll("\\[Source: [^;]*; ", "[");
            throw new IllegalArgumentException("bad JSON" + where + ": " + why, e);
        }
    }

    /**
     * @param value maps, lists, strings, numbers, booleans and null
     * @return {@code value} as indented JSON (a NaN or infinite number as a string)
     * @throws IllegalArgumentException if {@code value} holds anything else
     */
    static String write(Object value) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
        }
    }
}
