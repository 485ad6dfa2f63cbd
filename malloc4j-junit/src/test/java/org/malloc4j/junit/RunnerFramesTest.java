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
                + "SUMMARY: malloc4j: 64 byte(s) leaked in 2 allocation(s).\n", RunnerFrames.cut(report));
    }

    @Test
    void aStackKeepsItsFirstFrameEvenWhenItIsTheRunners() {
        StackTraceElement runner = new StackTraceElement("org.junit.jupiter.engine.X", "run", "X.java", 1);
        StackTraceElement app = new StackTraceElement("app.Y", "call", "Y.java", 2);
        StackTraceElement reflect = new StackTraceElement("java.lang.reflect.Method", "invoke", "Method.java", 3);
        assertEquals(List.of(runner), RunnerFrames.cut(List.of(runner, reflect, app)));
        assertEquals(List.of(app), RunnerFrames.cut(List.of(app, reflect, app)));
        assertEquals(List.of(app, app), RunnerFrames.cut(List.of(app, app)));
        assertEquals(List.of(), RunnerFrames.cut(List.of()));
    }
}
