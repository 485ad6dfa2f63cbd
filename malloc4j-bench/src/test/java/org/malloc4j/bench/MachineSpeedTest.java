package org.malloc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MachineSpeedTest {
    /** @return how long the command line {@code args} asks to probe, in seconds, read as the tool reads it */
    private static double seconds(String... args) {
        MachineSpeed.Options options = new MachineSpeed.Options();
        PrintWriter quiet = new PrintWriter(new StringWriter());
        ToolCommandLine.commandLine(options, quiet, quiet).parseArgs(args);
        return options.seconds;
    }

    @Test
    void noArgumentProbesForThreeSeconds() {
        assertEquals(3, seconds());
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.5", "2", "10", "3600"})
    void takesANumberOfSecondsAboveOneUpToAnHour(String argument) {
        assertEquals(Double.parseDouble(argument), seconds(argument));
    }

    @ParameterizedTest
    @ValueSource(strings = {"1", "0", "-5", "0.5", "3600.5", "1e9", "NaN", "Infinity", "abc", "", "0x10"})
    void refusesAnythingElse(String argument) {
        ToolRun run = ToolRun.of(new MachineSpeed.Options(), argument);
        assertEquals(2, run.status(), run.toString());
        assertTrue(run.err().contains("SECONDS") && run.err().contains("Usage: MachineSpeed [-h] [SECONDS]"),
                run.toString());
        assertEquals("", run.out(), "no probe runs");
    }

    @Test
    void saysWhatTheNumberMustBe() {
        ToolRun run = ToolRun.of(new MachineSpeed.Options(), "3600.5");
        assertTrue(run.err().startsWith("SECONDS must be more than 1 and at most 3600, got 3600.5\n"), run.toString());
        ToolRun text = ToolRun.of(new MachineSpeed.Options(), "abc");
        assertTrue(text.err().startsWith("Invalid value for positional parameter at index 0 (SECONDS): 'abc' is not a"
                + " double"), text.toString());
    }

    @Test
    void refusesTwoArguments() {
        ToolRun run = ToolRun.of(new MachineSpeed.Options(), "2", "3");
        assertEquals(2, run.status(), run.toString());
        assertTrue(run.err().startsWith("Unmatched argument at index 1: '3'\n"), run.toString());
    }

    @Test
    void helpPrintsTheUsageAndExitsWith0() {
        ToolRun.assertHelp(MachineSpeed.Options::new, "Usage: MachineSpeed [-h] [SECONDS]");
    }

    /** The line compare and ab keep: a second of warm-up, then one 100 ms slice for 1.1 s. */
    @Test
    void theCommandLinePrintsOneLineOfItsProbe() {
        ToolRun run = ToolRun.of(new MachineSpeed.Options(), "1.1");
        assertEquals(0, run.status(), run.toString());
        assertTrue(Pattern.matches("machine speed: \\d+\\.\\d{3} ns per iteration \\(median of 1 slice of 100 ms; "
                + "\\d+\\.\\d{3}-\\d+\\.\\d{3}\\)\n", run.out()), run.toString());
        assertEquals("", run.err());
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
