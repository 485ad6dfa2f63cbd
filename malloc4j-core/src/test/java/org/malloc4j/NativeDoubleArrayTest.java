package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

import java.lang.foreign.MemorySegment;
import java.util.Collection;

/** The double-specific hooks; the tests are in {@link NativePrimitiveArrayTestBase}. */
class NativeDoubleArrayTest extends NativePrimitiveArrayTestBase<NativeDoubleArray, Double> {
    @Override
    NativeDoubleArray newArray(Heap heap) {
        return new NativeDoubleArray(heap);
    }

    @Override
    Double v(int n) {
        return n * 0.5 + 0.25;
    }

    @Override
    Double zero() {
        return 0.0;
    }

    @Override
    Double get(NativeDoubleArray array, long index) {
        return array.get(index);
    }

    @Override
    Double set(NativeDoubleArray array, long index, Double value) {
        return array.set(index, value);
    }

    @Override
    void add(NativeDoubleArray array, Double value) {
        array.add(value);
    }

    @Override
    void insert(NativeDoubleArray array, long index, Double value) {
        array.insert(index, value);
    }

    @Override
    Double remove(NativeDoubleArray array, long index) {
        return array.remove(index);
    }

    @Override
    Double pop(NativeDoubleArray array) {
        return array.pop();
    }

    @Override
    double[] toArray(NativeDoubleArray array) {
        return array.toArray();
    }

    @Override
    double[] segmentElements(MemorySegment segment) {
        return segment.toArray(JAVA_DOUBLE);
    }

    @Override
    double[] primitive(Collection<Double> elements) {
        return elements.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
