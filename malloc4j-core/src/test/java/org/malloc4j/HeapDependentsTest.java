package org.malloc4j;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Closing a heap closes what draws from it first, so no segment outlives the memory under it. */
class HeapDependentsTest {

    @Test
    void closingTheHeapClosesItsOpenScopesArenasAndPoolsFirst() {
        Heap heap = Heap.builder().name("dependents").build();
        Arena scope = heap.newScope();
        MemorySegment fromScope = scope.allocate(JAVA_LONG);
        BumpArena arena = BumpArena.ofConfined(heap);
        MemorySegment fromArena = arena.allocate(JAVA_LONG);
        FixedSizePool pool = FixedSizePool.builder(heap, 32).build();
        MemorySegment fromPool = pool.allocate();

        heap.close();

        assertTrue(heap.isClosed());
        assertFalse(scope.scope().isAlive());
        assertTrue(arena.isClosed());
        assertTrue(pool.isClosed());
        assertThrows(IllegalStateException.class, () -> fromScope.get(JAVA_LONG, 0));
        assertThrows(IllegalStateException.class, () -> fromArena.get(JAVA_LONG, 0));
        assertThrows(IllegalStateException.class, () -> fromPool.get(JAVA_LONG, 0));
    }

    @Test
    void aConfinedScopeOfAnotherThreadKeepsTheHeapOpenWithAClearMessage() throws Exception {
        Heap heap = Heap.builder().name("held").build();
        CountDownLatch opened = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Void> owner = CompletableFuture.runAsync(() -> {
            Arena scope = heap.newScope();
            scope.allocate(64);
            opened.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            scope.close();
        });
        opened.await();

        IllegalStateException refused = assertThrows(IllegalStateException.class, heap::close);
        assertTrue(refused.getMessage().contains("close these on their own threads first"), refused.getMessage());
        assertFalse(heap.isClosed());
        heap.free(heap.malloc(16));

        release.countDown();
        owner.get();
        heap.close();
        assertTrue(heap.isClosed());
    }

    @Test
    void aConfinedArenaOrScopeWhoseThreadHasEndedDoesNotKeepTheHeapOpen() throws Exception {
        Heap heap = Heap.builder().name("orphans").build();
        long before = heap.stats().liveBlocks();
        BumpArena[] arena = new BumpArena[1];
        Arena[] scope = new Arena[1];
        MemorySegment[] segments = new MemorySegment[2];
        Thread owner = new Thread(() -> {
            arena[0] = BumpArena.ofConfined(heap);
            segments[0] = arena[0].allocate(100, 8);
            scope[0] = heap.newScope();
            segments[1] = scope[0].allocate(64);
        });
        owner.start();
        owner.join();
        // another thread's scope and arena, alive while the heap closes, are closed as usual
        Arena ownScope = heap.newScope();
        ownScope.allocate(16);
        assertTrue(heap.stats().liveBlocks() > before);

        heap.close();

        assertTrue(heap.isClosed());
        assertTrue(arena[0].isClosed());
        assertEquals(0, arena[0].heldBytes());
        assertFalse(ownScope.scope().isAlive());
        for (MemorySegment segment : segments) {
            assertThrows(WrongThreadException.class, () -> segment.get(JAVA_LONG, 0));
        }
        // closed, but still the ended thread's: the thread is checked first, as a JDK confined arena does
        assertThrows(WrongThreadException.class, arena[0]::close);
        assertThrows(WrongThreadException.class, scope[0]::close);
        assertThrows(IllegalStateException.class, heap::close);
    }

    @Test
    void theBlocksOfAnEndedThreadsArenaAndScopeAreFreedBeforeTheHeapCloses() throws Exception {
        Heap heap = Heap.builder().name("orphans-freed").checkMode(CheckMode.FULL).build();
        Thread owner = new Thread(() -> {
            BumpArena.ofConfined(heap).allocate(100, 8);
            heap.newScope().allocate(64);
        });
        owner.start();
        owner.join();
        assertEquals(2, heap.stats().liveBlocks());
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream saved = System.err;
        System.setErr(new PrintStream(err, true));
        try {
            heap.close();
        } finally {
            System.setErr(saved);
        }
        assertTrue(heap.isClosed());
        assertFalse(err.toString().contains("leak"), err.toString());
    }

    @Test
    void aScopeClosedBeforeTheHeapIsNotClosedAgain() {
        Heap heap = Heap.builder().build();
        try (Arena scope = heap.newScope()) {
            scope.allocate(16);
        }
        heap.close();
        assertTrue(heap.isClosed());
    }

    /**
     * A scope, arena or pool made while another thread closes the heap (a misuse) must be refused:
     * made after the close took its list of what to close first, it would stay open over memory the
     * close then unmaps, and the first access through one of its segments would crash the JVM.
     */
    @Test
    void aScopeArenaOrPoolMadeWhileAnotherThreadClosesTheHeapIsRefused() throws Exception {
        Heap heap = Heap.builder().name("closing").build();
        CountDownLatch closing = new CountDownLatch(1);
        CountDownLatch triedToMake = new CountDownLatch(1);
        // Holds the close where it closes the heap's dependents, so the makers below run inside it.
        heap.attach(() -> {
            closing.countDown();
            triedToMake.await(10, TimeUnit.SECONDS);
        });
        CompletableFuture<Void> closer = CompletableFuture.runAsync(heap::close);
        try {
            assertTrue(closing.await(10, TimeUnit.SECONDS), "the close did not start");
            List<Executable> makers = List.of(heap::newScope, heap::newSharedScope, () -> BumpArena.ofConfined(heap),
                    () -> FixedSizePool.builder(heap, 32).threadSafe(true).build());
            for (Executable maker : makers) {
                IllegalStateException refused = assertThrows(IllegalStateException.class, maker);
                assertTrue(refused.getMessage().contains("heap 'closing'"), refused.getMessage());
            }
        } finally {
            triedToMake.countDown();
        }
        closer.get(10, TimeUnit.SECONDS);
        assertTrue(heap.isClosed());
    }

    /**
     * A cleanup action that a dependent's close runs (one attached to a scope's segment, say) runs
     * on the thread closing the heap: a scope it makes is refused as well, and the refusal names
     * that thread, not another.
     */
    @Test
    void aScopeMadeByTheClosingThreadWhileItClosesTheHeapIsRefusedNamingThatThread() {
        Heap heap = Heap.builder().name("self-closing").build();
        Arena scope = heap.newScope();
        IllegalStateException[] refused = new IllegalStateException[1];
        scope.allocate(16).reinterpret(16, scope, segment -> {
            try {
                heap.newScope().close();
            } catch (IllegalStateException e) {
                refused[0] = e;
            }
        });
        heap.close();
        assertTrue(heap.isClosed());
        assertTrue(refused[0] != null, "a scope was made while its heap closed");
        assertEquals("heap 'self-closing' is being closed by this thread, whose close of the heap runs the call",
                refused[0].getMessage());
    }
}
