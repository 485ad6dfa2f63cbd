package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The owner writes a page's counters on every malloc; a thread freeing into the page reads its
 * shape. The two groups must not share a cache line, or every remote free misses on a line the
 * owner just wrote (producer/consumer handoffs).
 */
class PageLayoutTest {
    /** The fields the owner writes per block. */
    private static final Set<String> OWNER_PER_BLOCK = Set.of("bump", "freeCount", "searchWord", "used");
    private static final int CACHE_LINE = 64;

    @Test
    void theOwnersPerBlockFieldsAreACacheLineFromEveryFieldAFreeReads() throws Exception {
        // By reflection: the module does not read jdk.unsupported, and only this test needs it.
        Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
        Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
        theUnsafe.setAccessible(true);
        Object unsafe = theUnsafe.get(null);
        Method objectFieldOffset = unsafeClass.getMethod("objectFieldOffset", Field.class);
        long sharedEnd = 0;
        long ownerStart = Long.MAX_VALUE;
        for (Class<?> c = Page.class; c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers())) {
                    continue;
                }
                long offset = (long) objectFieldOffset.invoke(unsafe, f);
                if (f.getDeclaringClass() == PageSharedFields.class) {
                    sharedEnd = Math.max(sharedEnd, offset + 8);
                } else if (OWNER_PER_BLOCK.contains(f.getName())) {
                    ownerStart = Math.min(ownerStart, offset);
                }
            }
        }
        assertTrue(ownerStart - sharedEnd >= CACHE_LINE, "shared fields end at " + sharedEnd
                + ", the owner's per-block fields start at " + ownerStart);
    }
}
