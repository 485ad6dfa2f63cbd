package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemorySegment;
import java.util.Collection;

/** The int-specific hooks; the tests are in {@link NativePrimitiveArrayTestBase}. */
class NativeIntArrayTest extends NativePrimitiveArrayTestBase<NativeIntArray, Integer> {
    @Override
    NativeIntArray newArray(Heap heap) {
        return new NativeIntArray(heap);
    }

    @Override
    Integer v(int n) {
        return n * 31;
    }

    @Override
    Integer zero() {
        return 0;
    }

    @Override
    Integer get(NativeIntArray array, long index) {
        return array.get(index);
    }

    @Override
    Integer set(NativeIntArray array, long index, Integer value) {
        return array.set(index, value);
    }

    @Override
    void add(NativeIntArray array, Integer value) {
        array.add(value);
    }

    @Override
    void insert(NativeIntArray array, long index, Integer value) {
        array.insert(index, value);
    }

    @Override
    Integer remove(NativeIntArray array, long index) {
        return array.remove(index);
    }

    @Override
    Integer pop(NativeIntArray array) {
        return array.pop();
    }

    @Override
    int[] toArray(NativeIntArray array) {
        return array.toArray();
    }

    @Override
    int[] segmentElements(MemorySegment segment) {
        return segment.toArray(JAVA_INT);
    }

    @Override
    int[] primitive(Collection<Integer> elements) {
        return elements.stream().mapToInt(Integer::intValue).toArray();
    }
}
