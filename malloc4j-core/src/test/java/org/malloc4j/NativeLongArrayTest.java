package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;
import java.util.Collection;

/** The long-specific hooks; the tests are in {@link NativePrimitiveArrayTestBase}. */
class NativeLongArrayTest extends NativePrimitiveArrayTestBase<NativeLongArray, Long> {
    @Override
    NativeLongArray newArray(Heap heap) {
        return new NativeLongArray(heap);
    }

    @Override
    Long v(int n) {
        return n * 0x1_0000_0001L;
    }

    @Override
    Long zero() {
        return 0L;
    }

    @Override
    Long get(NativeLongArray array, long index) {
        return array.get(index);
    }

    @Override
    Long set(NativeLongArray array, long index, Long value) {
        return array.set(index, value);
    }

    @Override
    void add(NativeLongArray array, Long value) {
        array.add(value);
    }

    @Override
    void insert(NativeLongArray array, long index, Long value) {
        array.insert(index, value);
    }

    @Override
    Long remove(NativeLongArray array, long index) {
        return array.remove(index);
    }

    @Override
    Long pop(NativeLongArray array) {
        return array.pop();
    }

    @Override
    long[] toArray(NativeLongArray array) {
        return array.toArray();
    }

    @Override
    long[] segmentElements(MemorySegment segment) {
        return segment.toArray(JAVA_LONG);
    }

    @Override
    long[] primitive(Collection<Long> elements) {
        return elements.stream().mapToLong(Long::longValue).toArray();
    }
}
