package org.malloc4j.internal;

import java.lang.reflect.Field;

/** Reads private fields for the race tests, which reach into a heap to force a schedule. */
final class Fields {
    private Fields() {
    }

    static Object read(Object owner, Class<?> type, String name) throws ReflectiveOperationException {
        Field field = type.getDeclaredField(name);
        field.setAccessible(true);
        return field.get(owner);
    }

    static void write(Object owner, Class<?> type, String name, Object value) throws ReflectiveOperationException {
        Field field = type.getDeclaredField(name);
        field.setAccessible(true);
        field.set(owner, value);
    }
}
