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

    /** The list of what a JSON value may start with, which Jackson appends to much of what it refuses. */
    private static final String VALUES = " (JSON String, Number, Array, Object or token 'null', 'true' or 'false')";
    /** How Jackson's message about a text with no value begins. */
    private static final String NO_CONTENT = "No content to map";

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
            if (e.getOriginalMessage().startsWith(NO_CONTENT)) {
                // There is no place to name: Jackson's column 0 of line 1, whatever the white space.
                throw new IllegalArgumentException("bad JSON: there is no value, only white space or nothing", e);
            }
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new IllegalArgumentException("bad JSON" + where + ": " + plain(e.getOriginalMessage()), e);
        }
    }

    /**
     * @param jackson Jackson's message about text that is no JSON
     * @return the same in fewer words, without what only Jackson's own user knows: the source it was not
     *     told to keep, the feature or constraint behind a refusal, a character's code beside the character
     */
    static String plain(String jackson) {
        String plain = jackson
                .replace("a valid value" + VALUES, "a value")
                .replace("was expecting" + VALUES, "was expecting a value")
                // [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 1]
                .replaceAll("\\[Source: [^;]*; ", "[")
                .replaceAll(" \\(code -?\\d+\\)", "")
                .replaceAll(", from `[^`]*`", "")
                // The two a file of something else gives most: a word, or a character no value starts with.
                .replaceFirst("^Unrecognized token '(.*)': was expecting a value$", "'$1' is not a JSON value")
                .replaceFirst("^Unexpected character \\('(.+)'\\): expected a value$", "'$1' where a value should be")
                // Two documents in one file, or a value followed by anything but white space.
                .replaceFirst("^Trailing token .* found after value.*$", "more after the value: one JSON value is all"
                        + " a file may hold");
        return plain.isEmpty() ? plain : Character.toLowerCase(plain.charAt(0)) + plain.substring(1);
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
