package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void aReportWrittenReadsBackAsItWasInItsOrder() {
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("zeta", List.of(1, 2.5, "a \"quoted\"\nline", true));
        report.put("alpha", null);
        report.put("nested", Map.of("ms", 420));
        String text = Json.write(report);
        assertEquals(report, Json.parse(text));
        assertEquals(List.of("zeta", "alpha", "nested"), List.copyOf(((Map<?, ?>) Json.parse(text)).keySet()));
    }

    @Test
    void aNumberJsonCannotHoldIsWrittenAsAString() {
        assertEquals(Map.of("ratio", "NaN"), Json.parse(Json.write(Map.of("ratio", Double.NaN))));
    }

    /** Where the text stops being JSON and why, without Jackson's list of what a value may be or its settings. */
    @Test
    void whatIsNotJsonIsNamedBrieflyWithItsPlace() {
        assertRefused("bad JSON at line 1, column 6: 'hello' is not a JSON value", "hello world");
        assertRefused("bad JSON at line 2, column 11: '}' where a value should be", "{\"a\":\n  1, \"b\": }");
        assertRefused("bad JSON: there is no value, only white space or nothing", " \n ");
        assertRefused("bad JSON at line 1, column 5: unexpected end-of-input: expected close marker for Array (start"
                + " marker at [line: 1, column: 1])", "[1,2");
        assertRefused("bad JSON at line 1, column 8: more after the value: one JSON value is all a file may hold",
                "[1, 2] 3");
        assertRefused("bad JSON: document nesting depth (1001) exceeds the maximum allowed (1000)",
                "[".repeat(100_000));
    }

    private static void assertRefused(String message, String text) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> Json.parse(text)).getMessage());
    }

    @Test
    void somethingNotJsonIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Json.parse(""));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\": }"));
    }
}
