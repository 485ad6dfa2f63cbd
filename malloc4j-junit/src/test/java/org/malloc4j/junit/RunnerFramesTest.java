package org.malloc4j.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class RunnerFramesTest {
    @Test
    void aReportKeepsEachStackUpToTheRunnersFirstFrameAndEverythingElse() {
        String report = "Direct leak of 48 byte(s) in 1 object(s) allocated from:\n"
                + "    #0 app.Cache.put(Cache.java:10)\n"
                + "    #1 app.CacheTest.fills(CacheTest.java:20)\n"
                + "    #2 java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n"
                + "    #3 java.base/java.lang.reflect.Method.invoke(Method.java:580)\n"
                + "    #4 org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:767)\n"
                + "    #5 app.Unrelated.after(Unrelated.java:1)\n"
                + "\n"
                + "Direct leak of 16 byte(s) in 1 object(s) allocated from:\n"
                + "    #0 org.junit.jupiter.engine.Something.run(Something.java:5)\n"
                + "    #1 org.junit.jupiter.engine.Other.run(Other.java:6)\n"
                + "SUMMARY: malloc4j: 64 byte(s) leaked in 2 allocation(s).\n";
        assertEquals("Direct leak of 48 byte(s) in 1 object(s) allocated from:\n"
                + "    #0 app.Cache.put(Cache.java:10)\n"
                + "    #1 app.CacheTest.fills(CacheTest.java:20)\n"
                + "\n"
                + "Direct leak of 16 byte(s) in 1 object(s) allocated from:\n"
                + "    #0 org.junit.jupiter.engine.Something.run(Something.java:5)\n"
                + "SUMMARY: malloc4j: 64 byte(s) leaked in 2 allocation(s).\n", RunnerFrames.cut(report, List.of()));
    }

    @Test
    void aStackKeepsItsFirstFrameEvenWhenItIsTheRunners() {
        StackTraceElement runner = new StackTraceElement("org.junit.jupiter.engine.X", "run", "X.java", 1);
        StackTraceElement app = new StackTraceElement("app.Y", "call", "Y.java", 2);
        StackTraceElement reflect = new StackTraceElement("java.lang.reflect.Method", "invoke", "Method.java", 3);
        assertEquals(List.of(runner), RunnerFrames.cut(List.of(runner, reflect, app), List.of()));
        assertEquals(List.of(app), RunnerFrames.cut(List.of(app, reflect, app), List.of()));
        assertEquals(List.of(app, app), RunnerFrames.cut(List.of(app, app), List.of()));
        assertEquals(List.of(), RunnerFrames.cut(List.of(), List.of()));
    }
    /**
     * Bug: a block allocated in a lambda JUnit's own assertDoesNotThrow ran lost its test method's
     * frame, the first of JUnit's frames coming above it.
     */
    @Test
    void aStackThroughTheTestClassKeepsItsFramesUpToTheLastOfTheTestClasss() {
        String report = "    #0 app.Cache.put(Cache.java:10)\n"
                + "    #1 app.CacheTest.lambda$fills$0(CacheTest.java:20)\n"
                + "    #2 org.junit.jupiter.api.AssertDoesNotThrow.assertDoesNotThrow(AssertDoesNotThrow.java:71)\n"
                + "    #3 org.junit.jupiter.api.Assertions.assertDoesNotThrow(Assertions.java:3200)\n"
                + "    #4 app.CacheTest$Nested.fills(CacheTest.java:20)\n"
                + "    #5 java.base/java.lang.reflect.Method.invoke(Method.java:580)\n"
                + "    #6 org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:767)\n";
        assertEquals("    #0 app.Cache.put(Cache.java:10)\n"
                + "    #1 app.CacheTest.lambda$fills$0(CacheTest.java:20)\n"
                + "    #2 org.junit.jupiter.api.AssertDoesNotThrow.assertDoesNotThrow(AssertDoesNotThrow.java:71)\n"
                + "    #3 org.junit.jupiter.api.Assertions.assertDoesNotThrow(Assertions.java:3200)\n"
                + "    #4 app.CacheTest$Nested.fills(CacheTest.java:20)\n", RunnerFrames.cut(report, List.of("app.CacheTest")));
        // Not through the test class (a thread it started): up to the runner's first frame.
        assertEquals("    #0 app.Cache.put(Cache.java:10)\n", RunnerFrames.cut(
                "    #0 app.Cache.put(Cache.java:10)\n    #1 org.junit.X.y(X.java:1)\n    #2 app.Z.z(Z.java:2)\n",
                List.of("app.CacheTest")));
    }

    @Test
    void aMisuseReportIsCopiedWithItsKindAddressAndSuppressedReportsCut() {
        String text = "ERROR: malloc4j: heap-buffer-overflow\n    #0 app.T.t(T.java:1)\n    #1 org.junit.A.a(A.java:2)\n";
        org.malloc4j.MemoryMisuseException misuse = new org.malloc4j.MemoryMisuseException(
                org.malloc4j.MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, 42, text);
        misuse.addSuppressed(new AssertionError(text));
        Throwable cut = RunnerFrames.cut(misuse, List.of("app.T"));
        org.malloc4j.MemoryMisuseException copy = org.junit.jupiter.api.Assertions.assertInstanceOf(
                org.malloc4j.MemoryMisuseException.class, cut);
        assertEquals(org.malloc4j.MemoryMisuseException.Kind.HEAP_BUFFER_OVERFLOW, copy.kind());
        assertEquals(42, copy.address());
        assertEquals("ERROR: malloc4j: heap-buffer-overflow\n    #0 app.T.t(T.java:1)\n", copy.getMessage());
        assertEquals("ERROR: malloc4j: heap-buffer-overflow\n    #0 app.T.t(T.java:1)\n",
                copy.getSuppressed()[0].getMessage());
        IllegalStateException other = new IllegalStateException(text);
        org.junit.jupiter.api.Assertions.assertSame(other, RunnerFrames.cut(other, List.of("app.T")));
    }
    /** Bug: a test method inherited from an abstract class lost its frame, the subclass being the test's class. */
    @Test
    void aTestMethodInheritedFromAnotherClassKeepsItsFrame() {
        String report = "    #0 app.BaseTest.lambda$leaks$0(BaseTest.java:6)\n"
                + "    #1 org.junit.jupiter.api.AssertDoesNotThrow.assertDoesNotThrow(AssertDoesNotThrow.java:71)\n"
                + "    #2 app.BaseTest.leaks(BaseTest.java:6)\n"
                + "    #3 java.base/java.lang.reflect.Method.invoke(Method.java:580)\n";
        assertEquals("    #0 app.BaseTest.lambda$leaks$0(BaseTest.java:6)\n"
                + "    #1 org.junit.jupiter.api.AssertDoesNotThrow.assertDoesNotThrow(AssertDoesNotThrow.java:71)\n"
                + "    #2 app.BaseTest.leaks(BaseTest.java:6)\n",
                RunnerFrames.cut(report, List.of("app.SubTest", "app.BaseTest")));
    }
}
