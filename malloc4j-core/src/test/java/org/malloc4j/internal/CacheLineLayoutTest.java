package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
 * handoffs, virtual threads on two carriers). And the metadata estimate counts each page and
 * thread heap object at its real size.
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

    /**
     * The metadata estimate ({@link Page#metadataBytes}, {@link ThreadHeap#metadataBytes}) counts
     * each object at its size in this JVM: its last field's end, rounded up to the 8-byte object
     * alignment. Adding a field changes the size, and must change the constant with it.
     */
    @Test
    void theMetadataEstimateCountsPagesAndThreadHeapsAtTheirSize() throws Exception {
        assumeTrue(referenceBytes() == 4, "the estimate assumes compressed references");
        assertEquals(objectSize(Page.class), Page.SHALLOW_BYTES, "a page object's size");
        assertEquals(objectSize(ThreadHeap.class), ThreadHeap.SHALLOW_BYTES, "a thread heap object's size");
    }

    /** @return the bytes an instance of {@code type} takes: its last field's end, rounded up to 8 */
    private static long objectSize(Class<?> type) throws Exception {
        Map.Entry<Long, Field> last = offsets(type).lastEntry();
        Class<?> t = last.getValue().getType();
        long size = t == long.class || t == double.class ? 8 : t == int.class || t == float.class ? 4
                : t == short.class || t == char.class ? 2 : t == byte.class || t == boolean.class ? 1
                : referenceBytes();
        return (last.getKey() + size + 7) & -8;
    }

    /** @return the bytes of a reference in this JVM: 4 with compressed references, else 8 */
    private static long referenceBytes() throws Exception {
        return (int) unsafeClass().getMethod("arrayIndexScale", Class.class).invoke(unsafe(), Object[].class);
    }

    /** @return the instance fields of {@code type} and its superclasses, by offset in the object */
    private static TreeMap<Long, Field> offsets(Class<?> type) throws Exception {
        Object unsafe = unsafe();
        Method objectFieldOffset = unsafeClass().getMethod("objectFieldOffset", Field.class);
        TreeMap<Long, Field> byOffset = new TreeMap<>();
        for (Class<?> c = type; c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (!Modifier.isStatic(f.getModifiers())) {
                    byOffset.put((long) objectFieldOffset.invoke(unsafe, f), f);
                }
            }
        }
        return byOffset;
    }

    // By reflection: the module does not read jdk.unsupported, and only this test needs it.
    private static Class<?> unsafeClass() throws ClassNotFoundException {
        return Class.forName("sun.misc.Unsafe");
    }

    private static Object unsafe() throws Exception {
        Field theUnsafe = unsafeClass().getDeclaredField("theUnsafe");
        theUnsafe.setAccessible(true);
        return theUnsafe.get(null);
    }
}
