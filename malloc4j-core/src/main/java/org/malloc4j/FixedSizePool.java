package org.malloc4j;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.malloc4j.MemoryMisuseException.Kind;
import org.malloc4j.internal.BlockHolder;
import org.malloc4j.internal.HandedOutBlocks;
import org.malloc4j.internal.HandedOutTally;
import org.malloc4j.internal.Os;
import org.malloc4j.internal.Redzones;
import org.malloc4j.internal.SanitizerReports;
import org.malloc4j.internal.StackCapture;

/**
 * A pool of blocks of one size and alignment: O(1) {@link #allocate()} and {@link #free}, no size
 * class lookup, no per-block header, double and invalid frees detected. For the many small objects
 * of one type a program makes and drops (nodes, connections, messages).
 *
 * <h2>Pages</h2>
 * Blocks come from <em>pages</em>, each one block of the heap holding {@link #blocksPerPage()}
 * blocks {@link #strideBytes()} apart (the block size rounded up to the alignment; in
 * {@link CheckMode#FULL} with redzones, below). A page starts at
 * a multiple of {@link #pageAlignment()}, the power of two at or above its size (at least
 * {@value Heap#MIN_ALIGNMENT}), so the page of an
 * address is found in O(1). The pool grows a page at a time when every page is full, and gives a
 * page back to the heap when its last block is freed, keeping one empty page so a loop that
 * allocates and frees one block does not take and return a page each time.
 *
 * <h2>Safety</h2>
 * The free lists are bitmaps on the Java heap, never written into the blocks: no write through a
 * block can corrupt the pool. A block is live, free or never handed out, known in O(1), so
 * {@link #free} of a block that is not live throws {@link MemoryMisuseException} and changes
 * nothing: kind {@link Kind#DOUBLE_FREE} for a block freed before, {@link Kind#BAD_FREE} for an
 * address that is not the start of a block this pool handed out (an interior address, memory of
 * another pool or of the heap, a block of a page since given back, a segment of the Java heap). As
 * with {@link Heap#free}, a segment still works after its block is freed; it must no longer be used.
 *
 * <p>On a heap in a checked mode, a report also lists the stack of the call that misused the pool,
 * and for a block freed twice, or freed at an address inside it, where the block was last taken
 * from the pool and, if it was freed, where (as AddressSanitizer reports a heap block). In
 * {@link CheckMode#FULL} every block records both; in {@link CheckMode#SAMPLED}, one taken in the
 * heap's {@linkplain Heap.Builder#sampleInterval sampling interval}, and a report on another block
 * says it was not sampled. A use after {@link #close()} names where the pool was closed. Recording
 * costs two stack walks a block; in {@link CheckMode#FAST} nothing is recorded.
 *
 * <p>In {@link CheckMode#FULL} each block also has redzones, as a heap block has: the bytes between
 * it and its neighbours are filled with {@link CheckMode#CANARY_BYTE} when its slot is first taken, and
 * a changed one (a write before or past the block through a raw address) is reported as a
 * {@link Kind#HEAP_BUFFER_OVERFLOW} naming the block and where it was taken (and given back, for a
 * block written after its free). They are verified when the block is freed, by {@link Heap#check()},
 * and at {@link #close()} (and, for the freed blocks of a page given back to the heap, then), and a
 * freed block's when its slot is taken again: that allocation succeeds, and the next free,
 * {@code check()} or close throws the report. Each damage is reported once, the canaries put back,
 * and the block is freed all the same. A block's slot, {@link #strideBytes()} long, is then its
 * front redzone, the block, and its back redzone. The
 * front redzone is 16 bytes, or the alignment's bytes for an alignment above 16 up to 4096; a block
 * aligned to more than 4096 bytes has none (one would cost as many bytes as the alignment), as a heap
 * block has none, and a write before it lands in the back redzone of the block before. The back
 * redzone is at least 16 bytes, up to the next multiple of the alignment. For an alignment up to
 * 16 the stride is thus exactly 32 bytes more than in the other modes (48-byte blocks: 80 bytes
 * apart). {@link #pageAlignment()} and {@link #heldBytes()} grow with it; {@link #blocksPerPage()}
 * does not. {@link CheckMode#SAMPLED} keeps the stride of {@link CheckMode#FAST}
 * and puts no redzones around a pool's blocks, sampled or not: one stride serves every block of a
 * pool, and a production mode should not pay full mode's footprint. Wherever the mode checks, the
 * page itself, a heap block, has the heap's redzones around it.
 *
 * <p>Also in {@link CheckMode#FULL}, as a heap block is, a freed block is filled with
 * {@link CheckMode#POISON_BYTE} and a block taken again with {@link CheckMode#JUNK_BYTE} (a slot
 * never taken holds the page's junk): a read after the free, or before the first write, sees them,
 * and a write after the free through a raw address is reported as a {@link Kind#USE_AFTER_FREE}
 * naming where the block was taken and given back, found as the redzones' damage is: when its slot
 * is taken again (thrown by the next free, {@code check()} or close), by {@link Heap#check()}, or at
 * {@link #close()}. Unlike a heap block's, a pool block's segment is not closed by its free (an
 * access through it still succeeds), and a freed slot is handed out again at once, with no
 * quarantine.
 *
 * <p>A pool left open leaks its pages, which {@link Heap#leaks()} reports with the pool's name. For
 * each leaked page it also says which of the pool's blocks inside it are still handed out (taken and
 * not freed), grouped by the stack of the {@link #allocate()} that took them, and counts those whose
 * take was not recorded ({@link LeakReport.Site#handedOut()}). Only the report pays for this: it
 * reads each leaked page's bookkeeping, under the pool's lock when the pool has one.
 *
 * <h2>Lifetime</h2>
 * Segments from {@link #allocate()} live until {@link #close()}, which makes all of them
 * inaccessible ({@link IllegalStateException} on access) and gives every page back. They are
 * accessible from any thread. A close that a downcall using one of the segments interrupts closes
 * the other pages and leaves the pool open with the pages in use; closing it again finishes.
 * {@link Heap#close()} then leaves the pool, and the heap, open as well.
 *
 * <p>Each page has its own {@link Arena#ofShared() shared arena}, and closing one costs a handshake
 * with every thread (tens of microseconds). {@link #close()} closes one per page, so its cost grows
 * with {@link #pageCount()}; a {@link #free} that gives a page back to the heap closes that page's
 * (the one empty page the pool keeps spares a loop that allocates and frees one block from it).
 * A page a downcall is using a segment of at that moment cannot be closed: the free succeeds and
 * the pool keeps the page as one more empty page, used by later allocations and given back by
 * {@link #close()}.
 *
 * <h2>Threads</h2>
 * A pool built with {@link Builder#threadSafe(boolean) threadSafe(true)} may be used by many threads
 * at once: every operation takes a lock. Otherwise the pool is not thread-safe and must be used by
 * one thread at a time, without checks; only {@link #close()} is serialized in every pool, so the
 * pool's own thread may close it while another closes the heap.
 */
public final class FixedSizePool implements AutoCloseable {
    /** Pages are sized to about this many bytes unless {@link Builder#blocksPerPage} says otherwise. */
    public static final long DEFAULT_PAGE_BYTE_SIZE = 64 * 1024;
    /** Pages hold at least this many blocks by default. */
    public static final int MIN_DEFAULT_BLOCKS_PER_PAGE = 8;
    /** The most blocks a page may hold: 64³, what three levels of 64-bit bitmaps index. */
    public static final int MAX_BLOCKS_PER_PAGE = PoolPage.MAX_CAPACITY;

    private final Heap heap;
    private final String name;
    /** What holds this pool's pages, for reports. */
    private final BlockHolder holder;
    private final long blockByteSize;
    private final long blockByteAlignment;
    private final long stride;
    /**
     * Whether each block has redzones of canaries in its slot ({@link CheckMode#FULL}), filled when it
     * is taken and verified when it is freed, by {@link Heap#check()} and at close.
     */
    private final boolean redzones;
    /**
     * Damage to a freed block's redzones found when its slot was taken again, which an allocation
     * does not throw: the next {@link #free}, {@link Heap#check()} or {@link #close()} does.
     */
    private MemoryMisuseException foundAtRetake;
    /**
     * The bytes of a slot before its block: the front redzone, or 0 (no redzones, or an alignment
     * above an OS page, whose blocks have only the redzone after them).
     */
    private final long frontRedzone;
    /** {@code 2^64 / stride + 1} (unsigned) when pages are under 4 GiB, else 0; see {@link #blockIndex}. */
    private final long divisorMagic;
    private final int blocksPerPage;
    private final long pageAlignment;
    /** Guards every field of a thread-safe pool; {@code null} for a pool that is not. */
    private final ReentrantLock lock;
    /**
     * Taken by every close, before {@link #lock}: the heap's close may close a pool that is not
     * thread-safe while the pool's own thread closes it.
     */
    private final Object closing = new Object();
    /**
     * Whether blocks may have a {@link PoolBlockRecord} (the heap's mode is checked): read once, so
     * in fast mode taking and giving back a block stay as cheap as they were.
     */
    private final boolean recordsBlocks;
    /** Whether the heap records only the sampled blocks, which a report on another block must say. */
    private final boolean sampled;
    private final PoolPageTable table;
    /**
     * In a checked mode, the pages by base address for leak reports, which read them on any thread,
     * without the lock of a pool that has none (the table cannot be read while it changes); null in
     * fast mode, whose reports list no page.
     */
    private final Map<Long, PoolPage> pagesForReports;
    /** Head of the doubly linked list of pages with room. */
    private PoolPage withRoom;
    private int emptyPages;
    private long liveBlocks;
    private boolean closed;
    /** In a checked mode, who closed this pool, for a use after close to name; else null. */
    private String closedBy;

    private FixedSizePool(Builder builder, Layout layout, int blocksPerPage, long pageAlignment) {
        this.heap = builder.heap;
        this.name = builder.name;
        this.blockByteSize = builder.blockByteSize;
        this.blockByteAlignment = builder.blockByteAlignment;
        this.stride = layout.stride;
        this.redzones = layout.redzones;
        this.frontRedzone = layout.frontRedzone;
        this.divisorMagic = stride * blocksPerPage <= 0xFFFF_FFFFL ? Long.divideUnsigned(-1L, stride) + 1 : 0;
        this.blocksPerPage = blocksPerPage;
        this.pageAlignment = pageAlignment;
        this.lock = builder.threadSafe ? new ReentrantLock() : null;
        this.recordsBlocks = heap.checkMode() != CheckMode.FAST;
        this.sampled = heap.checkMode() == CheckMode.SAMPLED;
        this.table = new PoolPageTable(pageAlignment);
        this.pagesForReports = recordsBlocks ? new ConcurrentHashMap<>() : null;
        this.holder = new BlockHolder("FixedSizePool '" + name + "'", recordsBlocks ? new Reports() : null);
        heap.attach(this);
    }

    /**
     * Starts building a pool of blocks of {@code blockByteSize} bytes.
     *
     * @param heap the heap pages are taken from
     * @param blockByteSize the size of every block in bytes, positive
     * @return a builder with the defaults: alignment {@value Heap#MIN_ALIGNMENT}, about
     *     {@value #DEFAULT_PAGE_BYTE_SIZE} bytes (and at least {@value #MIN_DEFAULT_BLOCKS_PER_PAGE}
     *     blocks) a page, not thread-safe, named "pool"
     * @throws IllegalArgumentException if {@code blockByteSize <= 0}
     * @throws NullPointerException if {@code heap} is null
     */
    public static Builder builder(Heap heap, long blockByteSize) {
        return new Builder(heap, blockByteSize);
    }

    /**
     * Hands out a block. Its contents are unspecified.
     *
     * @return a native segment of exactly {@link #blockByteSize()} bytes whose address is a multiple
     *     of {@link #blockByteAlignment()}, overlapping no other live block, accessible until
     *     {@link #close()}
     * @throws IllegalStateException if this pool is closed, or it needs a page and the heap is closed
     * @throws HeapExhaustedError if it needs a page and the heap cannot provide it; nothing changes
     * @throws MemoryMisuseException in a checked mode, if it needs a page and the heap, to make room
     *     for it, takes a block out of quarantine that was written after its free
     *     ({@link Kind#USE_AFTER_FREE}, as {@link Heap#malloc} says); nothing changes then
     */
    public MemorySegment allocate() {
        lock();
        try {
            PoolPage page = pageWithRoom();
            int index = takeFrom(page);
            return page.segment.asSlice(page.blockOffset(index), blockByteSize);
        } finally {
            unlock();
        }
    }

    /**
     * The raw form of {@link #allocate()}: the block's address, no segment made.
     *
     * @return the address of a block of {@link #blockByteSize()} bytes, never 0
     * @throws IllegalStateException if this pool is closed, or it needs a page and the heap is closed
     * @throws HeapExhaustedError if it needs a page and the heap cannot provide it; nothing changes
     * @throws MemoryMisuseException as {@link #allocate()} says
     */
    public long allocateAddress() {
        lock();
        try {
            PoolPage page = pageWithRoom();
            return page.blockAddress(takeFrom(page));
        } finally {
            unlock();
        }
    }

    /**
     * Takes a block back. It may be handed out again at once.
     *
     * @param block a live block of this pool (its address is what counts), or
     *     {@link MemorySegment#NULL} (then nothing happens)
     * @throws MemoryMisuseException if {@code block} is not the start of a live block of this pool:
     *     {@link Kind#DOUBLE_FREE} if it was freed before, {@link Kind#ALLOC_DEALLOC_MISMATCH} if
     *     it is a live block of the heap itself, {@link Kind#BAD_FREE}
     *     otherwise (a segment of the Java heap included, then with address 0, even once this pool
     *     is closed, as {@link Heap#free} reports it); nothing changes and the pool stays usable.
     *     Also, in {@link CheckMode#FULL}, when the block's redzones were written through a raw
     *     address ({@link Kind#HEAP_BUFFER_OVERFLOW}), or the free gives the block's page back and the
     *     redzones of a block freed earlier in it were written (or such a block itself:
     *     {@link Kind#USE_AFTER_FREE}), or an allocation since the last report found those of the
     *     freed block whose slot it took written, or that block itself ({@link Kind#USE_AFTER_FREE};
     *     an allocation does not throw); and in a checked mode, when the free
     *     gives the block's page back to the heap and the page was written past its end through a raw
     *     address ({@link Kind#HEAP_BUFFER_OVERFLOW}, or {@link Kind#USE_AFTER_FREE} for a block that
     *     free pushed out of quarantine): the block is freed, and the page given back, all the same
     * @throws IllegalStateException if this pool is closed and {@code block} is a native segment
     *     other than {@link MemorySegment#NULL}
     * @throws NullPointerException if {@code block} is null
     */
    public void free(MemorySegment block) {
        Objects.requireNonNull(block, "block");
        if (!block.isNative()) {
            // Its address() is an offset into an array (0 for the whole of it), which would pass for
            // NULL or for an address of the native heap.
            throw report(Kind.BAD_FREE, "attempting free on a segment of the Java heap, which was not allocated "
                    + "by this pool", 0, block + " is a segment of the Java heap: it was never a block of a pool.", "");
        }
        freeAddress(block.address());
    }

    /**
     * The raw form of {@link #free(MemorySegment)}.
     *
     * @param address the address of a live block of this pool, or 0 (then nothing happens, whatever
     *     the pool's state, as with {@link Heap#freeAddress} and C's {@code free(NULL)})
     * @throws MemoryMisuseException if {@code address} is not the start of a live block of this pool:
     *     {@link Kind#DOUBLE_FREE} if it was freed before, {@link Kind#ALLOC_DEALLOC_MISMATCH} if
     *     it is a live block of the heap itself, {@link Kind#BAD_FREE}
     *     otherwise; nothing changes and the pool stays usable. In a checked mode also as
     *     {@link #free(MemorySegment)} says, when the free gives a damaged page back
     * @throws IllegalStateException if this pool is closed and {@code address} is not 0
     */
    public void freeAddress(long address) {
        if (address == 0) {
            return;
        }
        lock();
        try {
            checkOpen();
            freeBlock(address);
        } finally {
            unlock();
        }
    }

    private PoolPage pageWithRoom() {
        checkOpen();
        return withRoom != null ? withRoom : addPage();
    }

    private PoolPage addPage() {
        long byteSize = stride * blocksPerPage;
        long base = heap.adopt(heap.mallocAlignedAddress(byteSize, pageAlignment), holder);
        Arena arena = Arena.ofShared();
        PoolPage page = new PoolPage(base, arena, Os.segment(base, byteSize, arena), blocksPerPage, stride,
                frontRedzone);
        table.add(page);
        if (pagesForReports != null) {
            pagesForReports.put(base, page);
        }
        link(page);
        emptyPages++;
        return page;
    }

    private int takeFrom(PoolPage page) {
        if (page.isEmpty()) {
            emptyPages--;
        }
        int handedOutBefore = page.handedOut();
        int index = page.take();
        if (redzones && index < handedOutBefore) {
            // A freed slot keeps its canaries until taken again: verified before the refill below
            // (and before this take's record replaces the free's), so no write since the free is lost.
            String when = "when its slot was taken again";
            foundAtRetake = SanitizerReports.combine(SanitizerReports.combine(foundAtRetake,
                    damagedRedzones(page, index, when)), writtenAfterFree(page, index, when));
        }
        if (page.isFull()) {
            unlink(page);
        }
        liveBlocks++;
        if (recordsBlocks) {
            page.recordTake(index, heap.sampleOwnedBlock() ? new PoolBlockRecord() : null);
        }
        if (redzones && index >= handedOutBefore) {
            // A slot never handed out has no canaries yet; a freed one kept its own, verified above.
            long slot = index * stride;
            page.segment.asSlice(slot, frontRedzone).fill(CheckMode.CANARY_BYTE);
            page.segment.asSlice(slot + frontRedzone + blockByteSize, backRedzone()).fill(CheckMode.CANARY_BYTE);
        } else if (redzones) {
            // A new block's bytes are junk, as the heap's are (a never-taken slot's already are, from
            // the page's own fill): a read before the first write shows.
            page.segment.asSlice(page.blockOffset(index), blockByteSize).fill(CheckMode.JUNK_BYTE);
        }
        return index;
    }

    /** @return the bytes of a slot after its block, all redzone in {@link CheckMode#FULL} */
    private long backRedzone() {
        return stride - frontRedzone - blockByteSize;
    }

    private void freeBlock(long address) {
        PoolPage page = table.find(address);
        long offset = page == null ? -1 : address - page.base;
        if (offset < 0 || offset >= stride * blocksPerPage) {
            throw badFree(address, "is not in any page of this pool (foreign or stack memory, memory of another "
                    + "pool or of a heap, or a page since given back to the heap)", "");
        }
        int index = blockIndex(offset);
        long inside = offset - page.blockOffset(index);
        if (inside != 0) {
            // Past the block's end lies padding or its back redzone, no byte of the block: say how far
            // past, as AddressSanitizer places an address after a region.
            String where = inside < 0 ? -inside + " bytes before the block at 0x"
                    : inside < blockByteSize ? inside + " bytes inside the block at 0x"
                    : (inside - blockByteSize) + " bytes after the " + blockByteSize + "-byte block at 0x";
            throw badFree(address, "is " + where + Long.toHexString(address - inside)
                    + ": only the address a block starts at may be freed",
                    page.wasHandedOut(index) ? history(page, index) : "");
        }
        if (!page.isLive(index)) {
            throw page.wasHandedOut(index) ? doubleFree(address, index, page)
                    : badFree(address, "is block " + index + " of a page of this pool, never handed out", "");
        }
        // Verified while the block is live, so the report describes it as the overflowed live block
        // it is; the block is freed all the same, as a page found damaged is given back.
        MemoryMisuseException damage = SanitizerReports.combine(takeFoundAtRetake(),
                redzones ? damagedRedzones(page, index, "at free, which freed it all the same") : null);
        if (recordsBlocks) {
            PoolBlockRecord record = page.recordOf(index);
            if (record != null) {
                record.given();
            }
        }
        if (redzones) {
            // Poisoned as a heap block is: a write after this free shows when the slot is taken
            // again (or the page checked), and a read sees the poison, not the old contents.
            page.segment.asSlice(page.blockOffset(index), blockByteSize).fill(CheckMode.POISON_BYTE);
        }
        boolean wasFull = page.isFull();
        page.give(index);
        liveBlocks--;
        if (wasFull) {
            link(page);
        }
        if (page.isEmpty()) {
            damage = SanitizerReports.combine(damage, retire(page));
        }
        if (damage != null) {
            throw damage;
        }
    }

    /** @return the damage found when freed slots were taken again since the last call, or null */
    private MemoryMisuseException takeFoundAtRetake() {
        MemoryMisuseException found = foundAtRetake;
        foundAtRetake = null;
        return found;
    }

    /**
     * @return the report of a changed canary before block {@code index} and of one after it, the
     *     first carrying the second suppressed, or null; the canaries are put back, so each damage
     *     is reported once
     */
    private MemoryMisuseException damagedRedzones(PoolPage page, int index, String when) {
        long slot = index * stride;
        return SanitizerReports.combine(damagedCanaries(page, index, slot, frontRedzone, when),
                damagedCanaries(page, index, slot + frontRedzone + blockByteSize, backRedzone(), when));
    }

    /**
     * {@link #damagedRedzones(PoolPage, int, String)} of every block of {@code page} ever handed
     * out, live or freed: a freed block's canaries are still there until it is taken again.
     *
     * @param whenLive how the report of a live block says when the damage was found
     */
    private MemoryMisuseException damagedRedzones(PoolPage page, String when, String whenLive) {
        MemoryMisuseException damage = null;
        for (int index = 0, handedOut = page.handedOut(); index < handedOut; index++) {
            boolean live = page.isLive(index);
            damage = SanitizerReports.combine(SanitizerReports.combine(damage,
                    damagedRedzones(page, index, live ? whenLive : when)), live ? null : writtenAfterFree(page, index, when));
        }
        return damage;
    }

    /** @param from the redzone's offset from the page's base */
    private MemoryMisuseException damagedCanaries(PoolPage page, int index, long from, long length, String when) {
        return damagedBytes(page, index, from, length, CheckMode.CANARY_BYTE, when);
    }

    /**
     * @return the report of a changed poison byte of freed block {@code index} (a write after its
     *     free through a raw address), or null; the poison is put back, so each damage is reported once
     */
    private MemoryMisuseException writtenAfterFree(PoolPage page, int index, String when) {
        return damagedBytes(page, index, page.blockOffset(index), blockByteSize, CheckMode.POISON_BYTE, when);
    }

    /**
     * @param expected what the bytes hold unless written through a raw address: canaries (a change is an
     *     overflow) or poison (a write after free)
     * @return the report of the first changed byte, or null; the bytes are filled again, so each
     *     damage is reported once
     */
    private MemoryMisuseException damagedBytes(PoolPage page, int index, long from, long length, byte expected,
            String when) {
        long bad = Redzones.firstNot(page.segment, from, length, expected);
        if (bad < 0) {
            return null;
        }
        page.segment.asSlice(from, length).fill(expected);
        PoolBlockRecord record = page.recordOf(index);
        long address = page.blockAddress(index);
        String place = "pool '" + name + "'";
        return expected == CheckMode.POISON_BYTE
                ? SanitizerReports.writeAfterFree(address, blockByteSize, blockInPage(page, index), page.base + bad,
                        when, history(page, index), record == null ? null : record.giveStack, place)
                : SanitizerReports.overflow(address, blockByteSize, blockInPage(page, index), page.base + bad, when,
                        history(page, index), record == null ? null : record.takeStack, place);
    }

    /** @return where block {@code index} is, after its bounds in a report: {@code , block 3 of the ... pool 'nodes'} */
    private String blockInPage(PoolPage page, int index) {
        return ", block " + index + " of the " + page.capacity + "-block page at 0x" + Long.toHexString(page.base)
                + " of pool '" + name + "'";
    }

    /**
     * {@code offset / stride} for {@code 0 <= offset < page size}: with Lemire's multiply-high trick
     * (exact for 32-bit operands) when the page is under 4 GiB, instead of a 64-bit division.
     */
    private int blockIndex(long offset) {
        return (int) (divisorMagic != 0 ? Math.unsignedMultiplyHigh(divisorMagic, offset) : offset / stride);
    }

    /**
     * Keeps the first empty page, gives later ones back to the heap. A page a downcall holds a
     * segment of cannot be closed now (the JDK refuses): it is kept as one more empty page, which
     * later allocations use and {@link #close()} gives back.
     *
     * @return the damage a checked mode found in the page given back (given back all the same), or null
     */
    private MemoryMisuseException retire(PoolPage page) {
        if (emptyPages > 0) {
            // Its freed blocks' redzones are verified for the last time, while the page is still
            // the pool's; a page that stays is verified later.
            String when = "when pool '" + name + "' gave its page back to the heap";
            MemoryMisuseException damage = redzones ? damagedRedzones(page, when, when) : null;
            if (closeArena(page)) {
                unlink(page);
                forget(page);
                return SanitizerReports.combine(damage, heap.releaseOwned(page.base));
            }
            emptyPages++;
            return damage;
        }
        emptyPages++;
        return null;
    }

    /** Drops a page going back to the heap from the tables that find it. */
    private void forget(PoolPage page) {
        table.remove(page);
        if (pagesForReports != null) {
            pagesForReports.remove(page.base);
        }
    }

    /**
     * For a leak report, on any thread: adds to {@code tally} the blocks still handed out from the
     * page at {@code pageBase}, if this pool still holds it. Under the lock of a thread-safe pool,
     * only for as long as it takes to copy where each live block was taken (grouping them by stack,
     * which took 340-700 ms under the lock for a page of 262,143 live blocks, comes after); a pool
     * without a lock is read as it is, as {@link PoolPage#liveTakes} allows.
     *
     * @return whether the pool still holds the page
     */
    private boolean tallyHandedOut(long pageBase, HandedOutTally tally) {
        List<StackTraceElement[]> takes;
        lock();
        try {
            PoolPage page = pagesForReports.get(pageBase);
            if (page == null) {
                return false;
            }
            takes = page.liveTakes();
        } finally {
            unlock();
        }
        for (StackTraceElement[] take : takes) {
            tally.add(take, blockByteSize);
        }
        return true;
    }

    /** What the pool tells the heap's reports of the blocks it handed out from its pages. */
    private final class Reports implements HandedOutBlocks {
        @Override
        public boolean tally(long heldAddress, HandedOutTally tally) {
            return tallyHandedOut(heldAddress, tally);
        }

        @Override
        public String historyAt(long heldAddress, long address) {
            return onPage(heldAddress, page -> {
                int index = handedOutIndex(page, address - heldAddress);
                return index < 0 || page.blockAddress(index) != address ? null : history(page, index);
            });
        }

        @Override
        public long blockAt(long heldAddress, long address) {
            return onPage(heldAddress, page -> {
                int index = handedOutIndex(page, address - heldAddress);
                return index < 0 ? -1L : page.blockAddress(index);
            });
        }

        @Override
        public String describeAt(long heldAddress, long address) {
            return onPage(heldAddress, page -> {
                int index = handedOutSlot(page, address - heldAddress);
                return index < 0 ? null : SanitizerReports.locatedInHandedOut(address, page.blockAddress(index),
                        blockByteSize, holder.toString(), page.isLive(index), history(page, index));
            });
        }

        /** @return what {@code read} finds in the page at {@code heldAddress} (or null), under the pool's lock */
        private <T> T onPage(long heldAddress, Function<PoolPage, T> read) {
            lock();
            try {
                return read.apply(pagesForReports.get(heldAddress));
            } finally {
                unlock();
            }
        }

        @Override
        public MemoryMisuseException damagedRedzones(long heldAddress) {
            if (!redzones) {
                return null;
            }
            lock();
            try {
                PoolPage page = pagesForReports.get(heldAddress);
                return SanitizerReports.combine(takeFoundAtRetake(),
                        page == null ? null : FixedSizePool.this.damagedRedzones(page, "by check()", "by check()"));
            } catch (IllegalStateException closedMeanwhile) {
                // A pool that is not thread-safe, closing the page on another thread (a misuse of
                // the check): nothing left to verify.
                return null;
            } finally {
                unlock();
            }
        }

        /**
         * @return the index of the block of {@code page} that holds the byte at {@code offset} from
         *     its start, if the pool handed it out; else -1
         */
        private int handedOutIndex(PoolPage page, long offset) {
            int index = handedOutSlot(page, offset);
            long inside = index < 0 ? -1 : offset - page.blockOffset(index);
            // Outside the block: a redzone or padding, no block's byte.
            return inside < 0 || inside >= blockByteSize ? -1 : index;
        }

        /**
         * @return the index of the slot (a block and its redzones) at {@code offset} in the page if
         *     its block was handed out, else -1
         */
        private int handedOutSlot(PoolPage page, long offset) {
            if (page == null || offset < 0 || offset / stride >= page.capacity) {
                return -1;
            }
            int index = (int) (offset / stride);
            // Never handed out: no block of the pool starts there. Full mode records every take,
            // so a block without a record there was never taken either.
            return !page.wasHandedOut(index) || page.recordOf(index) == null && !sampled ? -1 : index;
        }
    }

    /** @return whether the page's arena closed; false while a downcall holds a segment of it */
    private static boolean closeArena(PoolPage page) {
        try {
            page.arena.close();
            return true;
        } catch (IllegalStateException inUseByADowncall) {
            return false;
        }
    }

    private void link(PoolPage page) {
        page.previous = null;
        page.next = withRoom;
        if (withRoom != null) {
            withRoom.previous = page;
        }
        withRoom = page;
        page.listed = true;
    }

    private void unlink(PoolPage page) {
        if (!page.listed) {
            return;
        }
        if (page.previous != null) {
            page.previous.next = page.next;
        } else {
            withRoom = page.next;
        }
        if (page.next != null) {
            page.next.previous = page.previous;
        }
        page.previous = null;
        page.next = null;
        page.listed = false;
    }

    /**
     * Closes this pool: every segment it handed out becomes inaccessible, then every page goes back
     * to the heap (unless the heap was closed first, which took them already). Blocks still live are
     * freed with their pages.
     *
     * @throws IllegalStateException if this pool is already closed, or a segment of it is being
     *     accessed by a downcall at this moment. The pool then stays open and usable, holding only
     *     the pages of the segments in use, with their blocks; every other page is closed and given
     *     back as a successful close does (its segments inaccessible, its blocks freed, so they no
     *     longer count as live and freeing one is a {@link Kind#BAD_FREE}). Close it again later to
     *     finish.
     * @throws MemoryMisuseException in {@link CheckMode#FULL}, if the redzones of a block, live or
     *     freed, were written through a raw address ({@link Kind#HEAP_BUFFER_OVERFLOW}), or a freed
     *     block was, or one whose slot an allocation took again ({@link Kind#USE_AFTER_FREE}); in a checked
     *     mode, if a page was written past its end through a raw address
     *     ({@link Kind#HEAP_BUFFER_OVERFLOW}), or a block a page's free pushed out of quarantine was
     *     written after its free ({@link Kind#USE_AFTER_FREE}); the pool is closed and every page
     *     given back all the same
     */
    @Override
    public void close() {
        synchronized (closing) {
            closeSerialized();
        }
    }

    private void closeSerialized() {
        lock();
        try {
            checkOpen();
            IllegalStateException inUse = null;
            int pagesInUse = 0;
            MemoryMisuseException damage = takeFoundAtRetake();
            for (PoolPage page : table.pages()) {
                if (redzones && !heap.refusesCalls()) {
                    // The last time its blocks' redzones can be verified; a page a downcall keeps
                    // open is verified all the same, each damage being reported once.
                    damage = SanitizerReports.combine(damage, damagedRedzones(page, "when pool '" + name + "' closed",
                            "when pool '" + name + "' closed, with the block still live"));
                }
                try {
                    page.arena.close();
                } catch (IllegalStateException e) {
                    if (inUse == null) {
                        inUse = e;
                    }
                    pagesInUse++;
                    continue;
                }
                damage = SanitizerReports.combine(damage, giveBack(page));
            }
            if (inUse != null) {
                IllegalStateException notClosed = new IllegalStateException("pool '" + name + "' is not closed: a "
                        + "downcall is using a segment of " + pagesInUse + " of its pages, which stay open with their "
                        + "blocks; the other pages were closed and given back; close it again later", inUse);
                if (damage != null) {
                    SanitizerReports.suppress(notClosed, damage);
                }
                throw notClosed;
            }
            closed = true;
            if (recordsBlocks) {
                closedBy = SanitizerReports.stack("closed by " + SanitizerReports.currentThread() + " here:",
                        StackCapture.capture());
            }
            heap.detach(this);
            if (damage != null) {
                throw damage;
            }
        } finally {
            unlock();
        }
    }

    /**
     * Drops a page whose arena is closed, with its blocks, and gives its memory back to the heap.
     *
     * @return the damage a checked mode found in the page (it is given back all the same), or null
     */
    private MemoryMisuseException giveBack(PoolPage page) {
        unlink(page);
        forget(page);
        liveBlocks -= page.live();
        if (page.isEmpty()) {
            emptyPages--;
        }
        return heap.refusesCalls() ? null : heap.releaseOwned(page.base);
    }

    /**
     * @return whether this pool is closed, by its {@link #close()} or its heap's; false after a
     *     {@code close()} that a downcall interrupted, which leaves the pool open
     */
    public boolean isClosed() {
        lock();
        try {
            return closed;
        } finally {
            unlock();
        }
    }

    /** @return blocks handed out and not freed since (0 after {@link #close()}) */
    public long liveBlocks() {
        lock();
        try {
            return liveBlocks;
        } finally {
            unlock();
        }
    }

    /** @return pages held from the heap (0 after {@link #close()}) */
    public int pageCount() {
        lock();
        try {
            return closed ? 0 : table.size();
        } finally {
            unlock();
        }
    }

    /** @return bytes held from the heap: {@code pageCount() * blocksPerPage() * strideBytes()} */
    public long heldBytes() {
        return pageCount() * stride * blocksPerPage;
    }

    /** @return the size of every block, in bytes */
    public long blockByteSize() {
        return blockByteSize;
    }

    /** @return the alignment of every block, in bytes (a power of two) */
    public long blockByteAlignment() {
        return blockByteAlignment;
    }

    /**
     * @return the distance between the starts of neighbouring blocks, in bytes: the block size
     *     rounded up to the alignment, and in {@link CheckMode#FULL} with the redzones of each
     *     block (see the class description)
     */
    public long strideBytes() {
        return stride;
    }

    /** @return the number of blocks a page holds */
    public int blocksPerPage() {
        return blocksPerPage;
    }

    /**
     * @return the alignment of every page, in bytes: the power of two at or above its size, and at
     *     least {@value Heap#MIN_ALIGNMENT}
     */
    public long pageAlignment() {
        return pageAlignment;
    }

    /** @return whether this pool takes a lock on every operation so many threads may share it */
    public boolean isThreadSafe() {
        return lock != null;
    }

    /** @return this pool's name, used in misuse reports */
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return "FixedSizePool[name=" + name + ", blockByteSize=" + blockByteSize + ", blockByteAlignment="
                + blockByteAlignment + ", blocksPerPage=" + blocksPerPage + ", liveBlocks=" + liveBlocks()
                + ", pages=" + pageCount() + (isThreadSafe() ? ", thread-safe" : "") + "]";
    }

    private void lock() {
        if (lock != null) {
            lock.lock();
        }
    }

    private void unlock() {
        if (lock != null) {
            lock.unlock();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new AlreadyClosedException(this, "already closed: pool '" + name + "' (by its close(), or its heap's)"
                    + (closedBy != null ? "\n" + closedBy : ""));
        }
    }

    private MemoryMisuseException doubleFree(long address, int index, PoolPage page) {
        return report(Kind.DOUBLE_FREE, "attempting double-free on 0x" + Long.toHexString(address),
                address, "0x" + Long.toHexString(address) + " is the start of block " + index + " of the "
                        + page.capacity + "-block page at 0x" + Long.toHexString(page.base)
                        + " (blockByteSize=" + blockByteSize + "), freed before and not handed out since.",
                history(page, index));
    }

    private MemoryMisuseException badFree(long address, String why, String history) {
        if (heap.holdsUnheld(address)) {
            return report(Kind.ALLOC_DEALLOC_MISMATCH, "alloc-dealloc-mismatch (Heap.malloc vs FixedSizePool '" + name
                    + "'.free) on 0x" + Long.toHexString(address), address, "0x" + Long.toHexString(address)
                    + " is a live block of heap '" + heap.name() + "', not of this pool: free it with Heap.free.", "");
        }
        return report(Kind.BAD_FREE, "attempting free on address which was not allocated by this pool: 0x"
                + Long.toHexString(address), address, "0x" + Long.toHexString(address) + " " + why + ".", history);
    }

    /**
     * @return where block {@code index}, handed out at least once, was last taken and given back, in
     *     a report's words: "" in fast mode, which records nothing
     */
    private String history(PoolPage page, int index) {
        PoolBlockRecord record = recordsBlocks ? page.recordOf(index) : null;
        if (record != null) {
            return record.describe();
        }
        return sampled ? "Where the block was taken and given back is not known: sampled mode records it for one "
                + "block in the heap's sampleInterval, and did not sample this one.\n" : "";
    }

    /** @param history what {@link #history} says of the block, or "" */
    private MemoryMisuseException report(Kind kind, String title, long address, String what, String history) {
        // As a heap's checked mode does, the checked modes name the misusing call; fast mode walks no stack.
        return SanitizerReports.plain(kind, title, address, what, history, "pool '" + name + "'", recordsBlocks);
    }

    /**
     * Where a page's blocks lie: one every {@code stride} bytes, {@code frontRedzone} bytes into its
     * slot; with {@code redzones}, the slot's other bytes are canaries.
     */
    private record Layout(long stride, boolean redzones, long frontRedzone) {
    }

    /** Settings for a {@link FixedSizePool}. Not thread-safe; each {@link #build()} makes a new pool. */
    public static final class Builder {
        private final Heap heap;
        private final long blockByteSize;
        private long blockByteAlignment = Heap.MIN_ALIGNMENT;
        private int blocksPerPage;
        private boolean threadSafe;
        private String name = "pool";

        private Builder(Heap heap, long blockByteSize) {
            this.heap = Objects.requireNonNull(heap, "heap");
            if (blockByteSize <= 0) {
                throw new IllegalArgumentException("blockByteSize must be positive: blockByteSize=" + blockByteSize);
            }
            this.blockByteSize = blockByteSize;
        }

        /**
         * @param blockByteAlignment the alignment of every block in bytes, a positive power of two;
         *     smaller alignments pack blocks closer (default {@value Heap#MIN_ALIGNMENT})
         * @return this builder
         * @throws IllegalArgumentException if {@code blockByteAlignment} is not a positive power of two
         */
        public Builder blockByteAlignment(long blockByteAlignment) {
            if (blockByteAlignment <= 0 || (blockByteAlignment & (blockByteAlignment - 1)) != 0) {
                throw new IllegalArgumentException("blockByteAlignment must be a positive power of two: "
                        + "blockByteAlignment=" + blockByteAlignment);
            }
            this.blockByteAlignment = blockByteAlignment;
            return this;
        }

        /**
         * @param blocksPerPage how many blocks each page holds, 1 to {@value #MAX_BLOCKS_PER_PAGE}
         * @return this builder
         * @throws IllegalArgumentException if {@code blocksPerPage} is out of that range
         */
        public Builder blocksPerPage(int blocksPerPage) {
            if (blocksPerPage < 1 || blocksPerPage > MAX_BLOCKS_PER_PAGE) {
                throw new IllegalArgumentException("blocksPerPage must be in [1, " + MAX_BLOCKS_PER_PAGE
                        + "]: blocksPerPage=" + blocksPerPage);
            }
            this.blocksPerPage = blocksPerPage;
            return this;
        }

        /**
         * @param threadSafe whether many threads may use the pool at once (every operation then
         *     takes a lock); default false
         * @return this builder
         */
        public Builder threadSafe(boolean threadSafe) {
            this.threadSafe = threadSafe;
            return this;
        }

        /**
         * @param name the pool's name, used in misuse reports
         * @return this builder
         * @throws NullPointerException if {@code name} is null
         */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * Makes the pool. It takes no memory from the heap until the first allocation.
         *
         * @return a new, empty pool
         * @throws IllegalArgumentException if a page's size in bytes ({@code blocksPerPage} times the
         *     block size rounded up to the alignment, with its redzones in {@link CheckMode#FULL})
         *     overflows a {@code long} or is more than
         *     {@link Heap#MAX_BLOCK_BYTE_SIZE}, so that no heap could allocate it
         * @throws IllegalStateException if the heap is closed, or is being closed (see {@link Heap#close()})
         */
        public FixedSizePool build() {
            long plainStride = roundUp(blockByteSize);
            if (plainStride < blockByteSize) {
                throw tooLarge(plainStride, 1);
            }
            // Chosen from the plain stride in every mode, so a program makes as many pages in
            // FULL mode as in the others, only larger ones.
            int perPage = blocksPerPage > 0 ? blocksPerPage : defaultBlocksPerPage(plainStride);
            Layout layout = layout(plainStride, perPage);
            long stride = layout.stride;
            long pageBytes;
            try {
                pageBytes = Math.multiplyExact(stride, perPage);
            } catch (ArithmeticException e) {
                throw tooLarge(stride, perPage);
            }
            if (pageBytes > Heap.MAX_BLOCK_BYTE_SIZE) {
                // A page is one block of the heap, aligned to its size rounded up to a power of
                // two: larger, it could never be allocated, and the first allocate() would fail.
                throw new IllegalArgumentException("a page of " + perPage + (perPage == 1 ? " block" : " blocks") + " of "
                        + stride + " bytes each (the block's " + blockByteSize + " bytes"
                        + (layout.redzones ? " and the redzones the heap's FULL check mode puts around it" : "")
                        + ", rounded up to the alignment) is " + pageBytes + " bytes, more than the "
                        + Heap.MAX_BLOCK_BYTE_SIZE + " bytes of the largest block a heap hands out"
                        + " (Heap.MAX_BLOCK_BYTE_SIZE): blockByteSize=" + blockByteSize + ", blockByteAlignment="
                        + blockByteAlignment + ", blocksPerPage=" + perPage);
            }
            long alignment = Math.max(Heap.MIN_ALIGNMENT, Long.highestOneBit(pageBytes - 1) << 1);
            return new FixedSizePool(this, layout, perPage, Math.max(alignment, blockByteAlignment));
        }

        /** @return {@code byteSize} rounded up to the alignment; less than it if that overflows */
        private long roundUp(long byteSize) {
            return (byteSize + blockByteAlignment - 1) & -blockByteAlignment;
        }

        /**
         * @return the slots of the heap's mode: with redzones in {@link CheckMode#FULL}, else as
         *     packed as the alignment allows
         */
        private Layout layout(long plainStride, int perPage) {
            if (heap.checkMode() != CheckMode.FULL) {
                return new Layout(plainStride, false, 0);
            }
            // As the heap lays out its own blocks: a front redzone of the alignment's bytes (at
            // least a redzone's) up to an OS page, none above, where it would cost as much as the
            // alignment.
            long front = blockByteAlignment <= Os.OS_PAGE_SIZE ? Math.max(Redzones.BYTE_SIZE, blockByteAlignment) : 0;
            long slot = blockByteSize + front + Redzones.BYTE_SIZE;
            long stride = roundUp(slot);
            if (slot < blockByteSize || stride < slot) {
                throw tooLarge(plainStride, perPage);
            }
            return new Layout(stride, true, front);
        }

        private static int defaultBlocksPerPage(long stride) {
            return (int) Math.min(MAX_BLOCKS_PER_PAGE,
                    Math.max(MIN_DEFAULT_BLOCKS_PER_PAGE, DEFAULT_PAGE_BYTE_SIZE / stride));
        }

        private IllegalArgumentException tooLarge(long stride, int perPage) {
            return new IllegalArgumentException("page size overflows: blockByteSize=" + blockByteSize
                    + ", blockByteAlignment=" + blockByteAlignment + ", blocksPerPage=" + perPage);
        }
    }
}
