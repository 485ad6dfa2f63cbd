package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/**
 * A page's remote bitmap, made by the first free from a thread that does not own the page, counts
 * in the metadata estimate from then until the page retires or is laid out again.
 */
class RemoteBitmapMetadataTest {
    private static final int BLOCK = 64;
    private static final int BLOCKS = 200;
    /** One bit a 64-byte block of a 64 KiB page, a word of pending count, and the array's header. */
    private static final long REMOTE_BITMAP_BYTES = 16 + 8L * (1 + (64 * 1024 / BLOCK) / 64);

    private static void freeOn(ExecutorService freer, Heap heap, long... addresses) throws Exception {
        freer.submit(() -> {
            for (long address : addresses) {
                heap.freeAddress(address);
            }
        }).get();
    }

    @Test
    void theFirstRemoteFreeOfAPageChargesItsBitmapAndRetiringThePageTakesItOff() throws Exception {
        ExecutorService freer = Executors.newSingleThreadExecutor();
        try (Heap heap = Heap.builder().name("remote bitmap metadata").build()) {
            // The freeing thread's own heap, made by its first malloc, is not what is measured.
            freer.submit(() -> heap.freeAddress(heap.mallocAddress(BLOCK))).get();
            heap.trim();
            long fresh = heap.stats().metadataBytes();
            long[] blocks = new long[BLOCKS];
            for (int i = 0; i < BLOCKS; i++) {
                blocks[i] = heap.mallocAddress(BLOCK);
            }
            long laidOut = heap.stats().metadataBytes();

            freeOn(freer, heap, blocks[0]);
            assertEquals(laidOut + REMOTE_BITMAP_BYTES, heap.stats().metadataBytes(),
                    "the first remote free made the page's remote bitmap");
            freeOn(freer, heap, blocks[1], blocks[2]);
            assertEquals(laidOut + REMOTE_BITMAP_BYTES, heap.stats().metadataBytes(),
                    "later remote frees reuse the bitmap");

            for (int i = 3; i < BLOCKS; i++) {
                heap.freeAddress(blocks[i]);
            }
            assertEquals(0, heap.stats().liveBlocks());
            heap.trim();
            assertEquals(fresh, heap.stats().metadataBytes(), "the emptied page's bitmaps left the estimate");
        } finally {
            freer.shutdownNow();
        }
    }
}
