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

    @Test
    void somethingNotJsonIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Json.parse(""));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\": }"));
    }
}
