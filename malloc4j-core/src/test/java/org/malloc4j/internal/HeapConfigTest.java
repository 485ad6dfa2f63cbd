package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.malloc4j.CheckMode;

/** The global heap's system properties: a value it cannot take is an error that names it. */
class HeapConfigTest {

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({
        "malloc4j.purgeDelayMillis, -5",
        "malloc4j.purgeDelayMillis, 99999999999999999999",
        "malloc4j.sampleInterval, 0",
        "malloc4j.sampleInterval, 3000000000",
        "malloc4j.quarantineBytes, abc",
        "malloc4j.check, bogus",
        "malloc4j.leakReportAtExit, yes",
        "malloc4j.leakReportAtExit, 1"})
    void aPropertyItCannotTakeIsAnErrorNamingIt(String name, String value) {
        String before = System.getProperty(name);
        System.setProperty(name, value);
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, HeapConfig::global);
            assertTrue(e.getMessage().startsWith(name), e.getMessage());
            // The value as it was set, not as the parser changed it (malloc4j.check's upper-casing).
            assertTrue(e.getMessage().endsWith(": " + value), e.getMessage());
        } finally {
            restore(name, before);
        }
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({"malloc4j.sampleInterval, 7", "malloc4j.quarantineBytes, 0", "malloc4j.check, Full"})
    void aGoodValueIsTaken(String name, String value) {
        String before = System.getProperty(name);
        System.setProperty(name, value);
        try {
            HeapConfig config = HeapConfig.global();
            switch (name) {
                case "malloc4j.sampleInterval" -> assertEquals(7, config.sampleInterval());
                case "malloc4j.quarantineBytes" -> assertEquals(0, config.quarantineBytes());
                default -> assertEquals(CheckMode.FULL, config.mode());
            }
        } finally {
            restore(name, before);
        }
    }

    @ParameterizedTest(name = "malloc4j.leakReportAtExit={0}")
    @CsvSource({"true, true", "TRUE, true", "' false', false", "False, false"})
    void theLeakReportAtExitIsTrueOrFalseInEitherCase(String value, boolean asked) {
        String before = System.getProperty("malloc4j.leakReportAtExit");
        System.setProperty("malloc4j.leakReportAtExit", value);
        try {
            assertEquals(asked, HeapConfig.leakReportAtExit());
        } finally {
            restore("malloc4j.leakReportAtExit", before);
        }
    }

    private static void restore(String name, String before) {
        if (before == null) {
            System.clearProperty(name);
        } else {
            System.setProperty(name, before);
        }
    }
}
