package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MachineSpeedTest {
    @Test
    void noArgumentProbesForThreeSeconds() {
        assertEquals(3, MachineSpeed.seconds(new String[0]));
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.5", "2", "10", "3600"})
    void takesANumberOfSecondsAboveOneUpToAnHour(String argument) {
        assertEquals(Double.parseDouble(argument), MachineSpeed.seconds(new String[] {argument}));
    }

    @ParameterizedTest
    @ValueSource(strings = {"1", "0", "-5", "0.5", "3600.5", "1e9", "NaN", "Infinity", "abc", "", "0x10"})
    void refusesAnythingElse(String argument) {
        assertTrue(Double.isNaN(MachineSpeed.seconds(new String[] {argument})), argument);
    }

    @Test
    void refusesTwoArguments() {
        assertTrue(Double.isNaN(MachineSpeed.seconds(new String[] {"2", "3"})));
    }

    @Test
    void theMedianOfAnOddCountIsTheMiddleSlice() {
        MachineSpeed.Result result = MachineSpeed.summarize(new double[] {3.0, 1.0, 2.0});
        assertEquals(2.0, result.medianNs());
        assertEquals(1.0, result.fastestNs());
        assertEquals(3.0, result.slowestNs());
        assertEquals(3, result.slices());
    }

    @Test
    void theMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
        MachineSpeed.Result result = MachineSpeed.summarize(new double[] {4.0, 1.0, 2.0, 3.0});
        assertEquals(2.5, result.medianNs());
        assertEquals(1.0, result.fastestNs());
        assertEquals(4.0, result.slowestNs());
    }

    @Test
    void describesOneSliceInTheSingular() {
        assertEquals("1.250 ns per iteration (median of 1 slice of 100 ms; 1.250-1.250)",
                MachineSpeed.summarize(new double[] {1.25}).describe());
        assertEquals("1.500 ns per iteration (median of 2 slices of 100 ms; 1.000-2.000)",
                MachineSpeed.summarize(new double[] {2.0, 1.0}).describe());
    }

    @Test
    void aProbeTimesItsSlicesOfTheKernel() {
        MachineSpeed.Result result = MachineSpeed.probe(100, 300);
        assertEquals(3, result.slices());
        assertTrue(result.fastestNs() > 0 && result.fastestNs() <= result.medianNs()
                && result.medianNs() <= result.slowestNs() && Double.isFinite(result.slowestNs()), result.describe());
        assertTrue(Pattern.matches("\\d+\\.\\d{3} ns per iteration \\(median of 3 slices of 100 ms; "
                + "\\d+\\.\\d{3}-\\d+\\.\\d{3}\\)", result.describe()), result.describe());
    }
}
