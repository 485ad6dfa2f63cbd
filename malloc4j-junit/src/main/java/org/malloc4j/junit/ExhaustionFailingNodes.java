package org.malloc4j.junit;

import java.lang.reflect.Array;
import java.util.Iterator;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.malloc4j.HeapExhaustedError;

/**
 * What a {@code @TestFactory} returns, wrapped so that a {@link HeapExhaustedError} thrown while JUnit
 * takes its next node, after the factory method has returned, fails the factory (or the dynamic
 * container whose children they are) like one thrown out of the method, instead of ending the run.
 *
 * <p>The nodes stay lazy: each is made when JUnit asks for it, as the factory meant. A Stream stays a
 * Stream (closing it closes the factory's), an Iterator an Iterator, an Iterable (or Collection) an
 * Iterable, an array an array of the same type, a single node a node. A {@link DynamicContainer}
 * keeps its display name and test source URI, and its children are wrapped the same way, at any
 * depth. Anything else, {@code null} included, is returned as it is, for JUnit to report.
 */
final class ExhaustionFailingNodes {
    private ExhaustionFailingNodes() {
    }

    /** @return {@code factoryResult}, each node it makes failing on exhaustion as described above */
    static Object of(Object factoryResult) {
        if (factoryResult instanceof DynamicNode node) {
            return node(node);
        }
        if (factoryResult instanceof Stream<?> nodes) {
            return stream(nodes);
        }
        if (factoryResult instanceof Iterator<?> nodes) {
            return new Nodes(() -> nodes);
        }
        if (factoryResult instanceof Iterable<?> nodes) {
            return (Iterable<Object>) () -> new Nodes(nodes::iterator);
        }
        if (factoryResult instanceof Object[] nodes) {
            Object[] wrapped = (Object[]) Array.newInstance(nodes.getClass().getComponentType(), nodes.length);
            for (int i = 0; i < nodes.length; i++) {
                wrapped[i] = node(nodes[i]);
            }
            return wrapped;
        }
        return factoryResult;
    }

    /** @return {@code node}, its children failing on exhaustion if it is a container */
    private static Object node(Object node) {
        if (node instanceof DynamicContainer container) {
            return DynamicContainer.dynamicContainer(container.getDisplayName(),
                    container.getTestSourceUri().orElse(null), stream(container.getChildren()));
        }
        return node;
    }

    /** @return the nodes of {@code nodes}, made as they are asked for; closing it closes {@code nodes} */
    private static <T> Stream<T> stream(Stream<?> nodes) {
        @SuppressWarnings("unchecked")
        Iterator<T> wrapped = (Iterator<T>) new Nodes(nodes::iterator);
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(wrapped, Spliterator.ORDERED),
                        nodes.isParallel())
                .onClose(() -> failingOnExhaustion(() -> {
                    nodes.close();
                    return null;
                }));
    }

    /** @return what {@code action} returns; a {@link HeapExhaustedError} it throws becomes a test failure */
    private static <T> T failingOnExhaustion(Supplier<T> action) {
        try {
            return action.get();
        } catch (HeapExhaustedError e) {
            throw Malloc4jExtension.escaped(e);
        }
    }

    /** The nodes of a source iterator, taken from it only when asked for. */
    private static final class Nodes implements Iterator<Object> {
        private final Supplier<? extends Iterator<?>> source;
        private Iterator<?> nodes;

        Nodes(Supplier<? extends Iterator<?>> source) {
            this.source = source;
        }

        @Override
        public boolean hasNext() {
            return failingOnExhaustion(() -> nodes().hasNext());
        }

        @Override
        public Object next() {
            return node(failingOnExhaustion(() -> nodes().next()));
        }

        private Iterator<?> nodes() {
            if (nodes == null) {
                nodes = source.get();
            }
            return nodes;
        }
    }
}
