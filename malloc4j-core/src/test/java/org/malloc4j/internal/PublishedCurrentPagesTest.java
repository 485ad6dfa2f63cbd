package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.malloc4j.Heap;
import org.malloc4j.IdleThread;

/**
 * The malloc fast path takes a page from the heap's published current pages
 * ({@code HeapCore.currentPages}, a slot per thread id's low bits and an entry per size class) if
 * the calling thread owns it. So every published page that a living thread owns must be that
 * thread's current page of the entry's class, in that thread's slot: a page left published after
 * it stopped being current, and later owned by a thread reading that entry, would hand out blocks
 * from a page that is not current, perhaps laid out for another class. This holds however a page
 * stops being current: its heap makes another page current, the thread ends and its heap is swept,
 * another virtual thread takes the heap over, the purger takes the page from a waiting owner.
 */
class PublishedCurrentPagesTest {
    private final Heap heap = Heap.builder().name("published current pages").build();
    private final HeapCore core = core(heap);

    @AfterEach
    void close() {
        heap.close();
    }

    @Test
    void holdAsPagesFillEmptyAndAreFoundAgain() throws Exception {
        SplittableRandom random = new SplittableRandom(3);
        List<Long> blocks = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            blocks.add(heap.mallocAddress(16 + random.nextInt(3_000)));
        }
        assertTrue(assertPublishedPagesCurrent(core, "20,000 blocks") >= 20, "few classes published");
        for (int i = 0; i < blocks.size(); i += 2) {
            heap.freeAddress(blocks.get(i));
        }
        assertPublishedPagesCurrent(core, "half freed");
        for (int i = 0; i < 10_000; i++) {
            blocks.add(heap.mallocAddress(16 + random.nextInt(3_000)));
        }
        assertPublishedPagesCurrent(core, "pages with room found again");
        for (int i = 1; i < blocks.size(); i += 2) {
            heap.freeAddress(blocks.get(i));
        }
        for (int i = 20_000; i < blocks.size(); i += 2) {
            heap.freeAddress(blocks.get(i));
        }
        heap.trim();
        assertPublishedPagesCurrent(core, "all freed and trimmed");
    }

    /** The swept heap's current pages leave its slot before the pool hands them to another thread. */
    @Test
    void holdWhenAThreadEndsAndAnotherAdoptsItsPages() throws Exception {
        List<Long> left = Collections.synchronizedList(new ArrayList<>());
        Thread ended = Thread.ofPlatform().start(() -> {
            SplittableRandom random = new SplittableRandom(5);
            for (int i = 0; i < 10_000; i++) {
                long block = heap.mallocAddress(16 + random.nextInt(3_000));
                if (i % 4 == 0) {
                    left.add(block);
                } else {
                    heap.freeAddress(block);
                }
            }
        });
        ended.join();
        Set<Page> endedPages = Collections.newSetFromMap(new IdentityHashMap<>());
        for (long block : left) {
            endedPages.add(RegionMap.slicePage(block, core));
        }
        heap.trim();
        for (int i = 0; i < left.size(); i += 2) {
            heap.freeAddress(left.get(i));
        }
        SplittableRandom random = new SplittableRandom(6);
        List<Long> mine = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            mine.add(heap.mallocAddress(16 + random.nextInt(3_000)));
        }
        long adopted = endedPages.stream().filter(page -> page.ownerThread == Thread.currentThread()).count();
        assertTrue(adopted > 0, "no page of the ended thread was adopted");
        assertPublishedPagesCurrent(core, adopted + " of the ended thread's pages adopted");
        for (int i = 1; i < left.size(); i += 2) {
            heap.freeAddress(left.get(i));
        }
        mine.forEach(heap::freeAddress);
        assertPublishedPagesCurrent(core, "all freed");
    }

    /**
     * Virtual threads one after another, each making enough mallocs to be given a heap of its own:
     * a thread takes over the heap of one that ended, with its current pages, which must leave the
     * ended thread's slot for the new owner's.
     */
    @Test
    void holdWhenAVirtualThreadTakesOverAnEndedThreadsHeap() throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Set<ThreadHeap> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        int takenOver = 0;
        List<Long> kept = new ArrayList<>();
        for (int t = 0; t < 40 && failure.get() == null; t++) {
            int seed = t;
            AtomicReference<ThreadHeap> own = new AtomicReference<>();
            List<Long> live = new ArrayList<>();
            Thread thread = Thread.ofVirtual().start(() -> {
                try {
                    SplittableRandom random = new SplittableRandom(seed);
                    for (int i = 0; i < 400; i++) {
                        long block = heap.mallocAddress(16 + random.nextInt(2_000));
                        if (i % 5 == 0) {
                            live.add(block);
                        } else {
                            heap.freeAddress(block);
                        }
                    }
                    own.set(WaitingOwner.heapOf(core, Thread.currentThread()));
                    assertPublishedPagesCurrent(core, "virtual thread " + seed + " done");
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            thread.join();
            kept.addAll(live);
            if (own.get() != null && !seen.add(own.get())) {
                takenOver++;
            }
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertTrue(takenOver > 0, "no virtual thread took over an ended one's heap");
        kept.forEach(heap::freeAddress);
        assertPublishedPagesCurrent(core, "all freed");
    }

    /**
     * The purger takes the current pages of an owner that waits: they are no longer published, and
     * the owner's next mallocs publish its new current pages.
     */
    @Test
    void holdWhenThePurgerTakesAWaitingOwnersCurrentPages() throws Exception {
        try (Heap idle = Heap.builder().name("published, taken").purgeDelay(Duration.ofMillis(20)).build();
                IdleThread owner = new IdleThread()) {
            HeapCore idleCore = core(idle);
            List<Long> blocks = new ArrayList<>();
            ThreadHeap ownerHeap = WaitingOwner.leftWithPagesTaken(owner, idleCore, blocks, idle::mallocAddress, idle::freeAddress);
            int sizeClass = WaitingOwner.takenClass(ownerHeap);
            assertPublishedPagesCurrent(idleCore, "pages taken");
            long byteSize = SizeClasses.blockSize(sizeClass);
            long[] again = new long[2];
            owner.run(() -> {
                again[0] = idle.mallocAddress(byteSize);
                again[1] = idle.mallocAddress(byteSize);
            });
            Page page = RegionMap.slicePage(again[1], idleCore);
            assertSame(page, ownerHeap.current[sizeClass]);
            assertSame(page, published(idleCore, owner.thread(), sizeClass),
                    "the owner's current page of a class the purger took is not published again");
            assertPublishedPagesCurrent(idleCore, "the owner came back");
            owner.run(() -> {
                idle.freeAddress(again[0]);
                idle.freeAddress(again[1]);
                for (int i = 0; i < blocks.size(); i += 4) {
                    idle.freeAddress(blocks.get(i));
                }
            });
            assertPublishedPagesCurrent(idleCore, "all freed");
        }
    }

    /**
     * Two threads whose ids share a slot: the second's page of a class replaces the first's, and
     * stays while the second lives (the first allocates the long way, rather than both taking the
     * entry from each other on every malloc); once the second ended, the first's next calloc of the
     * class (as a malloc) publishes its page again.
     */
    @Test
    void holdWhenThreadsSharingASlotOverwriteEachOthersPages() throws Exception {
        int sizeClass = SizeClasses.classOf(64);
        try (IdleThread first = new IdleThread()) {
            IdleThread second = null;
            List<IdleThread> others = new ArrayList<>();
            try {
                while (second == null) {
                    IdleThread next = new IdleThread();
                    if (HeapCore.currentSlot(next.thread()) == HeapCore.currentSlot(first.thread())) {
                        second = next;
                    } else {
                        others.add(next);
                    }
                }
                long[] blocks = new long[4];
                first.run(() -> blocks[0] = heap.mallocAddress(64));
                Page firstPage = RegionMap.slicePage(blocks[0], core);
                assertSame(firstPage, published(core, first.thread(), sizeClass));
                IdleThread sharing = second;
                sharing.run(() -> blocks[1] = heap.mallocAddress(64));
                Page secondPage = RegionMap.slicePage(blocks[1], core);
                assertNotSame(firstPage, secondPage, "the second thread allocated from the first one's page");
                assertSame(secondPage, published(core, first.thread(), sizeClass));
                first.run(() -> blocks[2] = heap.mallocAddress(64));
                assertSame(firstPage, RegionMap.slicePage(blocks[2], core));
                assertSame(secondPage, published(core, first.thread(), sizeClass),
                        "the first thread took the entry of a living thread sharing its slot");
                assertPublishedPagesCurrent(core, "two threads sharing a slot");
                sharing.run(() -> heap.freeAddress(blocks[1]));
                sharing.close();
                first.run(() -> blocks[3] = heap.callocAddress(1, 64));
                assertSame(firstPage, RegionMap.slicePage(blocks[3], core));
                assertSame(firstPage, published(core, first.thread(), sizeClass),
                        "the first thread's calloc did not publish its page again once the second ended");
                assertPublishedPagesCurrent(core, "the second thread ended");
                first.run(() -> {
                    heap.freeAddress(blocks[0]);
                    heap.freeAddress(blocks[2]);
                    heap.freeAddress(blocks[3]);
                });
                assertEquals(0, heap.stats().liveBlocks());
            } finally {
                if (second != null) {
                    second.close();
                }
                for (IdleThread other : others) {
                    other.close();
                }
            }
        }
    }

    /**
     * Asserts that every published page a living thread owns is in that thread's slot, is its
     * heap's current page of the entry's class, and is laid out for that class. Run while no
     * thread allocates from {@code core}.
     *
     * @return the number of published pages of living owners
     */
    static int assertPublishedPagesCurrent(HeapCore core, String when) throws ReflectiveOperationException {
        Page[] published = (Page[]) Fields.read(core, HeapCore.class, "currentPages");
        int perSlot = published.length / HeapCore.HEAP_CACHE_SIZE;
        assertTrue(perSlot >= SizeClasses.COUNT, "a slot has fewer entries than there are size classes");
        int owned = 0;
        for (int i = 0; i < published.length; i++) {
            Page page = published[i];
            Thread owner = page.ownerThread;
            if (page == HeapCore.EMPTY_PAGE || owner == null || !owner.isAlive()) {
                continue;
            }
            int sizeClass = i % perSlot;
            String entry = when + ": published page of class " + sizeClass + " owned by " + owner;
            assertEquals(HeapCore.currentSlot(owner), i - sizeClass, entry + ", in another thread's slot");
            ThreadHeap heap = WaitingOwner.heapOf(core, owner);
            assertNotNull(heap, entry + ", which has no heap");
            assertSame(heap.current[sizeClass], page, entry + ", not its current page of the class");
            assertEquals(sizeClass, page.sizeClass, entry + ", laid out for another class");
            owned++;
        }
        return owned;
    }

    private static Page published(HeapCore core, Thread thread, int sizeClass) throws ReflectiveOperationException {
        Page[] published = (Page[]) Fields.read(core, HeapCore.class, "currentPages");
        return published[HeapCore.currentSlot(thread) | sizeClass];
    }

    private static HeapCore core(Heap heap) {
        try {
            return (HeapCore) Fields.read(heap, Heap.class, "core");
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}
