package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Fields one thread writes on every malloc or free must not share a cache line with fields other
 * threads read on theirs: each such pair costs a cache miss per operation (producer/consumer
 * handoffs, virtual threads on two carriers).
 */
class CacheLineLayoutTest {
    private static final int CACHE_LINE = 64;

    /** A page's owner writes its counters per block; a thread freeing into the page reads its shape. */
    @Test
    void aPagesPerBlockCountersAreACacheLineFromEveryFieldAFreeReads() throws Exception {
        Set<String> ownerPerBlock = Set.of("bump", "freeCount", "searchWord", "used");
        long sharedEnd = 0;
        long ownerStart = Long.MAX_VALUE;
        for (Map.Entry<Long, Field> e : offsets(Page.class).entrySet()) {
            Field f = e.getValue();
            if (f.getDeclaringClass() == PageSharedFields.class) {
                sharedEnd = Math.max(sharedEnd, e.getKey() + 8);
            } else if (ownerPerBlock.contains(f.getName())) {
                ownerStart = Math.min(ownerStart, e.getKey());
            }
        }
        assertTrue(ownerStart - sharedEnd >= CACHE_LINE, "shared fields end at " + sharedEnd
                + ", the owner's per-block fields start at " + ownerStart);
    }

    /**
     * A thread heap's counters are written per operation; its other fields, and whatever object lies
     * before it in memory (a stripe follows HeapCore's stripe array), are read by other threads.
     */
    @Test
    void aThreadHeapsCountersAreACacheLineFromItsStartAndItsOtherFields() throws Exception {
        Set<String> counters = Set.of("mallocCount", "freeCount", "usableBytes", "requestedBytes");
        long first = Long.MAX_VALUE;
        long last = 0;
        for (Map.Entry<Long, Field> e : offsets(ThreadHeap.class).entrySet()) {
            if (counters.contains(e.getValue().getName())) {
                first = Math.min(first, e.getKey());
                last = Math.max(last, e.getKey() + 8);
            }
        }
        assertTrue(first >= CACHE_LINE, "the counters start " + first + " B into the object");
        for (Map.Entry<Long, Field> e : offsets(ThreadHeap.class).entrySet()) {
            String name = e.getValue().getName();
            if (!counters.contains(name) && !name.startsWith("pad") && e.getKey() > first) {
                assertTrue(e.getKey() - last >= CACHE_LINE, name + " at " + e.getKey()
                        + " is within a cache line of the counters, which end at " + last);
            }
        }
    }

    /** @return the instance fields of {@code type} and its superclasses, by offset in the object */
    private static Map<Long, Field> offsets(Class<?> type) throws Exception {
        // By reflection: the module does not read jdk.unsupported, and only this test needs it.
        Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
        Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
        theUnsafe.setAccessible(true);
        Object unsafe = theUnsafe.get(null);
        Method objectFieldOffset = unsafeClass.getMethod("objectFieldOffset", Field.class);
        Map<Long, Field> byOffset = new TreeMap<>();
        for (Class<?> c = type; c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (!Modifier.isStatic(f.getModifiers())) {
                    byOffset.put((long) objectFieldOffset.invoke(unsafe, f), f);
                }
            }
        }
        return byOffset;
    }
}
