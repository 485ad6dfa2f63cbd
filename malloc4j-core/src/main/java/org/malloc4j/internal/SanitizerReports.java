package org.malloc4j.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.malloc4j.LeakReport;
import org.malloc4j.MemoryMisuseException;
import org.malloc4j.MemoryMisuseException.Kind;

/**
 * Checked mode's reports, in AddressSanitizer's layout: the kind and the address with the thread;
 * where the address lies relative to the block; where the block was freed; where it was
 * allocated; one SUMMARY line naming the first user frame of the call that found the misuse, as
 * ASan names the faulting access. Damage found after the fact (a redzone or a freed block written
 * through a raw address, found at a free or a check) has no faulting call to name: its SUMMARY
 * names where the block was allocated, or freed, and says so. Leak reports follow LeakSanitizer.
 */
public final class SanitizerReports {
    /**
     * A platform thread's name, and {@link #currentThread} of it: one string shared by every record
     * the thread makes, where each made its own (56 of the 382 bytes a FULL-mode block's records
     * took). Made again when the thread is renamed.
     */
    private static final ThreadLocal<String[]> THREAD_LABEL = new ThreadLocal<>();

    private SanitizerReports() {
    }

    /**
     * Keeps every report of a call that goes on past the first damage it finds (a close, a trim):
     * the first is thrown, the later ones ride along as suppressed, since each damage is reported
     * only once. All of them end up in one flat list: a later report that carries reports of its
     * own (a block damaged at both ends, a scope's blocks) hands them over, so a caller reads every
     * damage in {@code first.getSuppressed()} and none one level further down.
     *
     * @return {@code first} with {@code later} suppressed, or whichever is not null
     */
    public static MemoryMisuseException combine(MemoryMisuseException first, MemoryMisuseException later) {
        if (first == null || later == null) {
            return first == null ? later : first;
        }
        suppress(first, later);
        return first;
    }

    /**
     * Suppresses {@code later} in {@code first}, as {@link #combine} does: a report that carries
     * reports of its own hands them over, so that every report lies one level down, in
     * {@code first.getSuppressed()}. Anything else that is suppressed keeps what it carries.
     */
    public static void suppress(Throwable first, Throwable later) {
        if (later == first) {
            // One exception thrown twice (a cleanup action's cached report, say): it is there already.
            return;
        }
        Throwable[] carried = later.getSuppressed();
        if (!(later instanceof MemoryMisuseException report) || carried.length == 0) {
            first.addSuppressed(later);
            return;
        }
        first.addSuppressed(withoutSuppressed(report));
        for (Throwable another : carried) {
            if (another != first) {
                first.addSuppressed(another);
            }
        }
    }

    /**
     * Suppresses {@code later} in {@code first}, as {@link #suppress} does, unless {@code first} was
     * made with suppression disabled ({@code Throwable}'s four-argument constructor), which would
     * drop it, and with it a report of a damaged block: then {@code first} rides along in
     * {@code later} instead.
     *
     * @return the one to throw, carrying the other
     */
    public static Throwable rideAlong(Throwable first, Throwable later) {
        int before = first.getSuppressed().length;
        suppress(first, later);
        if (later == first || first.getSuppressed().length > before) {
            return first;
        }
        suppress(later, first);
        return later;
    }

    /** @return a copy of {@code report} that carries none of the reports suppressed in it */
    private static MemoryMisuseException withoutSuppressed(MemoryMisuseException report) {
        MemoryMisuseException copy = new MemoryMisuseException(report.kind(), report.address(), report.getMessage());
        copy.setStackTrace(report.getStackTrace());
        if (report.getCause() != null) {
            copy.initCause(report.getCause());
        }
        return copy;
    }

    static MemoryMisuseException doubleFree(String operation, BlockRecord block, String heap) {
        return calledOnFreed(Kind.DOUBLE_FREE, "attempting double-free on 0x" + hex(block.address) + " (" + operation
                + ")", block, heap);
    }

    /**
     * A call given a segment whose scope is closed: the block it was made for is gone (freed, or
     * its scope, arena or heap closed), whatever holds its address now, so the call changed
     * nothing. A double free for free and realloc, as ASan names a realloc of a freed pointer; a
     * use after free for anything else.
     *
     * @param now what the address is now, as {@code describe} says it
     * @param callSite whether to give the calling frames (a checked heap's reports do)
     */
    public static MemoryMisuseException closedScope(String operation, long address, String now, String heap,
            boolean callSite) {
        boolean freeing = operation.equals("free") || operation.equals("realloc");
        String title = freeing ? "attempting double-free on 0x" + hex(address) + " (" + operation + ")"
                : "heap-use-after-free on address 0x" + hex(address) + " (" + operation + ")";
        return plain(freeing ? Kind.DOUBLE_FREE : Kind.USE_AFTER_FREE, title, address, "0x" + hex(address)
                + " is the address of a segment whose scope is closed, so the block it was made for is gone (freed,"
                + " or its scope, arena or heap closed) and this " + operation
                + " changed nothing. What the address is now:", now.indent(2), "heap '" + heap + "'", callSite);
    }

    /** A freed block asked about as if it were live (its usable size, say). */
    static MemoryMisuseException queryAfterFree(String operation, BlockRecord block, String heap) {
        return calledOnFreed(Kind.USE_AFTER_FREE, "heap-use-after-free on address 0x" + hex(block.address) + " ("
                + operation + ")", block, heap);
    }

    /** A call given the start of a freed block: where it was freed, then where it was allocated. */
    private static MemoryMisuseException calledOnFreed(Kind kind, String title, BlockRecord block, String heap) {
        StringBuilder text = title(title);
        text.append("0x").append(hex(block.address)).append(" is located 0 bytes inside of ")
                .append(describe(block)).append('\n');
        text.append(stack("freed by " + block.freeThread() + " here:", block.freeStack()));
        text.append(stack("previously allocated by " + block.allocThread + " here:", block.allocStack));
        return finish(kind, block.address, text, StackCapture.capture(), heap);
    }

    /** A block held by a scope, arena, pool or growable array, freed (or resized) through the heap. */
    static MemoryMisuseException mismatch(String operation, BlockRecord block, String heap) {
        String handedOut = handedOutHistory(block, block.address);
        if (handedOut != null) {
            // The held block's first byte is also the first block its holder handed out from it.
            return mismatchInside(operation, block.address, block, heap, block.address, handedOut);
        }
        String holder = holderOf(block);
        StringBuilder text = title("alloc-dealloc-mismatch (" + holder + " vs Heap." + operation
                + ") on 0x" + hex(block.address));
        text.append("0x").append(hex(block.address)).append(" is located 0 bytes inside of ")
                .append(describe(block)).append(", held by ").append(holder)
                .append(": ").append(heldBlock(operation)).append('\n');
        text.append(stack("allocated by " + block.allocThread + " here:", block.allocStack));
        return finish(Kind.ALLOC_DEALLOC_MISMATCH, block.address, text, StackCapture.capture(), heap);
    }

    /**
     * @return the block's holder, read once: the holder may give the block up (closing, or freeing
     *     it) while the report is written
     */
    private static String holderOf(BlockRecord block) {
        BlockHolder holder = block.owner;
        return holder != null ? holder.toString() : "a scope, bump arena, pool or growable array (released since)";
    }

    /** @return why {@code operation} through the heap is refused for a block a holder holds, without a full stop */
    static String heldBlock(String operation) {
        return operation.equals("usableSize")
                ? "its holder, not the heap, says what of it it hands out and how large"
                : "it is freed when its owner is closed or frees it, never through the heap";
    }

    /** @return {@link #heldBlock} for an address inside such a block: a pool's block, an arena's slice */
    static String heldInside(String operation) {
        return operation.equals("usableSize") ? heldBlock(operation)
                : "what it hands out is freed through it (or when it is closed), never through the heap";
    }

    /**
     * An address inside a block held by a scope, arena, pool or growable array (a pool's block, an
     * arena's slice), freed (or resized) through the heap.
     */
    static MemoryMisuseException mismatchInside(String operation, long address, BlockRecord block, String heap) {
        HandedOutBlocks handedOut = handedOut(block);
        long start = handedOut == null ? -1 : handedOut.blockAt(block.address, address);
        String history = start < 0 ? null : handedOut.historyAt(block.address, start);
        return mismatchInside(operation, address, block, heap, start, history);
    }

    /**
     * @param start where the block the holder handed out that holds {@code address} starts
     * @param handedOut what the holder says of that block, or null
     */
    private static MemoryMisuseException mismatchInside(String operation, long address, BlockRecord block,
            String heap, long start, String handedOut) {
        String holder = holderOf(block);
        StringBuilder text = title("alloc-dealloc-mismatch (" + holder + " vs Heap." + operation
                + ") on 0x" + hex(address));
        text.append("0x").append(hex(address)).append(" is located ").append(position(address, block)).append(' ')
                .append(describe(block)).append(", held by ").append(holder)
                .append(": ").append(heldInside(operation)).append('\n');
        if (handedOut != null) {
            // The block the program misused is the one its holder handed out, not the held one.
            text.append(handedOutAt(address, start, holder, handedOut));
        } else {
            text.append(stack("allocated by " + block.allocThread + " here:", block.allocStack));
        }
        return finish(Kind.ALLOC_DEALLOC_MISMATCH, address, text, StackCapture.capture(), heap);
    }

    /** @return where {@code address} lies in the block a holder handed out at {@code start}, then its history */
    private static String handedOutAt(long address, long start, String holder, String history) {
        return "0x" + hex(address) + (start == address ? " is a block "
                : " is " + (address - start) + " bytes inside the block at 0x" + hex(start) + ", a block ")
                + holder + " handed out:\n" + history;
    }

    /** @return what the holder of {@code block} says of the block it handed out at {@code address}, or null */
    private static String handedOutHistory(BlockRecord block, long address) {
        HandedOutBlocks handedOut = handedOut(block);
        return handedOut == null ? null : handedOut.historyAt(block.address, address);
    }

    /** @return what the holder of {@code block} tells reports of the blocks it hands out, or null */
    private static HandedOutBlocks handedOut(BlockRecord block) {
        BlockHolder holder = block.owner;
        return holder == null ? null : holder.handedOut();
    }

    /**
     * @param near the block whose memory (redzones included) holds {@code address}, or null
     * @param freed whether {@code near} is a freed block
     */
    static MemoryMisuseException badFree(String operation, long address, BlockRecord near, boolean freed,
            String heap) {
        StringBuilder text = title("attempting " + operation + " on address which was not malloc()-ed: 0x"
                + hex(address));
        if (near != null) {
            appendLocation(text, address, near, freed);
        } else {
            text.append("0x").append(hex(address)).append(" is not the start of any live block of heap '")
                    .append(heap).append("'\n");
        }
        return summarize(Kind.BAD_FREE, badAddressName(operation), address, text, "", StackCapture.capture(),
                "heap '" + heap + "'");
    }

    /** Where {@code address} lies against {@code block} (redzones included), then the block's stacks. */
    private static void appendLocation(StringBuilder text, long address, BlockRecord block, boolean freed) {
        text.append("0x").append(hex(address)).append(" is located ").append(position(address, block))
                .append(' ').append(describe(block)).append('\n');
        if (freed) {
            text.append(stack("freed by " + block.freeThread() + " here:", block.freeStack()));
            text.append(stack("previously allocated by " + block.allocThread + " here:", block.allocStack));
        } else {
            text.append(stack("allocated by " + block.allocThread + " here:", block.allocStack));
        }
    }

    /**
     * What {@code address} is against the blocks a checked heap remembers there, for
     * {@code Heap.describe}: the live block whose memory holds it (and, for a holder that hands out
     * blocks of its own, what it says of its block there), then the latest freed block whose memory
     * held it, each with its stacks.
     *
     * @param live the live block whose memory (redzones included) holds {@code address}, or null
     * @param freed the latest freed block whose memory held it, or null; not both null
     */
    static String described(long address, BlockRecord live, BlockRecord freed, String heap) {
        StringBuilder text = new StringBuilder();
        if (live != null) {
            BlockHolder holder = live.owner;
            HandedOutBlocks handedOut = holder == null ? null : holder.handedOut();
            String inside = handedOut == null ? null : handedOut.describeAt(live.address, address);
            text.append(AddressDescriptions.headline(address, beside(address, live) + (holder == null
                    ? "a live block of heap '" + heap + "'"
                    : inside == null ? "a live block of heap '" + heap + "', held by " + holder
                    : "a block of heap '" + heap + "' held by " + holder + ", which hands out blocks of its own"
                            + " there")));
            appendLocation(text, address, live, false);
            if (inside != null) {
                text.append(inside);
            }
        }
        if (freed != null && live != null) {
            text.append(freedBefore(address, freed, heap));
        } else if (freed != null) {
            text.append(AddressDescriptions.headline(address, beside(address, freed) + freedBlock(freed, heap)));
            appendLocation(text, address, freed, true);
        }
        return text.toString();
    }

    /**
     * @return what {@code freed} was: a block the heap freed, naming the holder that held it till
     *     then (a scope that closed, a pool or arena), whose stack alone would leave it to be guessed
     */
    private static String freedBlock(BlockRecord freed, String heap) {
        BlockHolder holder = freed.owner;
        return "a block heap '" + heap + "' freed" + (holder == null ? "" : ", held by " + holder + " till then");
    }

    /** @return how a headline begins for an address beside {@code block}'s bytes (in a redzone), else nothing */
    private static String beside(long address, BlockRecord block) {
        return address >= block.address && address < block.address + block.byteSize ? "" : "the redzone of ";
    }

    /** @return what {@link #described} tells of {@code freed} after a description of what is there now */
    static String freedBefore(long address, BlockRecord freed, String heap) {
        StringBuilder text = new StringBuilder("before it, the memory held " + freedBlock(freed, heap) + ":\n");
        appendLocation(text, address, freed, true);
        return text.toString();
    }

    /**
     * An address of a checked heap's memory in no block it remembers, for {@code Heap.describe}:
     * told against the nearest live blocks, as AddressSanitizer tells an address past a block.
     *
     * @param below the live block nearest below, or null
     * @param above the live block nearest above, or null
     */
    static String nearLive(long address, BlockRecord below, BlockRecord above, String heap) {
        StringBuilder text = new StringBuilder(AddressDescriptions.headline(address, "checked memory of heap '"
                + heap + "' in no block it remembers"));
        for (BlockRecord block : new BlockRecord[] {below, above}) {
            if (block != null) {
                text.append("0x").append(hex(address)).append(" is located ").append(position(address, block))
                        .append(' ').append(describe(block)).append(", a live block allocated by ")
                        .append(block.allocThread).append('\n');
            }
        }
        return text.append("no block it remembers holds it: memory not handed out, or of a block freed before the"
                + " last 65536 frees, or of a freed block whose start other blocks took since\n").toString();
    }

    /**
     * For a holder's {@code HandedOutBlocks.describeAt}: where {@code address} lies against the
     * {@code byteSize}-byte block at {@code start} it handed out, whether the holder has it back,
     * then that block's history.
     *
     * @param live whether the block is handed out now; false once the holder took it back
     */
    public static String locatedInHandedOut(long address, long start, long byteSize, String holder, boolean live,
            String history) {
        return "0x" + hex(address) + " is located " + AddressDescriptions.position(address - start, byteSize) + ' '
                + describe(start, byteSize) + (live ? ", a live block " + holder + " handed out:\n"
                : ", a block " + holder + " handed out and took back:\n") + history;
    }

    /**
     * @return the name the SUMMARY gives an address no live block starts at, passed to
     *     {@code operation}: ASan's {@code bad-malloc_usable_size} for a size query, its
     *     {@code bad-free} otherwise (a realloc frees the block it is given)
     */
    public static String badAddressName(String operation) {
        return operation.equals("usableSize") ? "bad-malloc_usable_size" : Kind.BAD_FREE.asanName();
    }

    /**
     * A redzone byte changed: an overflow past the end, or an underflow before the start. Of a
     * freed block, whose free found its redzones whole, the write came after the free: the report
     * names where it was freed too, as ASan describes a freed block.
     */
    static MemoryMisuseException overflow(BlockRecord block, long badAddress, String when, String heap) {
        StackTraceElement[] freeStack = block.freeStack();
        String history = freeStack != null
                ? stack("freed by " + block.freeThread() + " here:", freeStack)
                        + stack("previously allocated by " + block.allocThread + " here:", block.allocStack)
                : stack("allocated by " + block.allocThread + " here:", block.allocStack);
        return overflow(block.address, block.byteSize, "", badAddress, when, history, block.allocStack,
                "heap '" + heap + "'");
    }

    /**
     * {@link #overflow(BlockRecord, long, String, String)} of a block whose record is not the heap's
     * (a pool's block, redzoned inside the pool's page), in the same words.
     *
     * @param heldBy what handed the block out, after the region's bounds: {@code , block 3 of ... pool 'nodes'};
     *     empty for nothing
     * @param history where the block was allocated and, if it was freed, where: {@link #stack} lines,
     *     the free's first
     * @param allocStack where it was allocated, for the SUMMARY
     * @param place what the SUMMARY says the block was in: {@code heap 'name'} or {@code pool 'name'}
     */
    public static MemoryMisuseException overflow(long address, long byteSize, String heldBy, long badAddress,
            String when, String history, StackTraceElement[] allocStack, String place) {
        boolean after = badAddress >= address + byteSize;
        long distance = after ? badAddress - (address + byteSize) : address - badAddress;
        StringBuilder text = title("heap-buffer-overflow on address 0x" + hex(badAddress));
        text.append("WRITE of unknown size found ").append(when).append('\n');
        text.append("0x").append(hex(badAddress)).append(" is located ").append(distance)
                .append(after ? " bytes after " : " bytes before ").append(describe(address, byteSize))
                .append(heldBy).append('\n');
        text.append(history);
        return summarize(Kind.HEAP_BUFFER_OVERFLOW, Kind.HEAP_BUFFER_OVERFLOW.asanName(), badAddress, text,
                "in the block allocated at", allocStack, place);
    }

    /** A poisoned byte of a freed block changed: a write after free through a raw address. */
    static MemoryMisuseException writeAfterFree(BlockRecord block, long badAddress, String when, String heap) {
        return writeAfterFree(block.address, block.byteSize, "", badAddress, when,
                stack("freed by " + block.freeThread() + " here:", block.freeStack())
                        + stack("previously allocated by " + block.allocThread + " here:", block.allocStack),
                block.freeStack(), "heap '" + heap + "'");
    }

    /**
     * {@link #writeAfterFree(BlockRecord, long, String, String)} of a block whose record is not the
     * heap's (a pool's block), in the same words; the parameters as {@link #overflow(long, long,
     * String, long, String, String, StackTraceElement[], String) overflow}'s, but for
     * {@code freeStack}, where the block was freed, for the SUMMARY (null if not known).
     */
    public static MemoryMisuseException writeAfterFree(long address, long byteSize, String heldBy, long badAddress,
            String when, String history, StackTraceElement[] freeStack, String place) {
        StringBuilder text = title("heap-use-after-free on address 0x" + hex(badAddress));
        text.append("WRITE of unknown size after free, found ").append(when).append('\n');
        text.append("0x").append(hex(badAddress)).append(" is located ").append(badAddress - address)
                .append(" bytes inside of ").append(describe(address, byteSize)).append(heldBy).append('\n');
        text.append(history);
        return summarize(Kind.USE_AFTER_FREE, Kind.USE_AFTER_FREE.asanName(), badAddress, text,
                "in the block freed at", freeStack, place);
    }

    /**
     * Where leaked blocks were allocated, and the name of what holds them (empty: nothing). Its
     * equals and hashCode are written out, as {@link ArraySite}'s: a record's own link through a
     * class of the JDK's (ObjectMethods) that a process whose Java heap was full when it first
     * initialized can never use again, nor, with them, report a leak.
     */
    private record LeakSite(String heldBy, List<StackTraceElement> stack) {
        @Override
        public boolean equals(Object other) {
            return other instanceof LeakSite site && site.heldBy.equals(heldBy) && site.stack.equals(stack);
        }

        @Override
        public int hashCode() {
            return 31 * heldBy.hashCode() + stack.hashCode();
        }
    }

    /**
     * A {@link LeakSite} by its stack array's identity: the records of one stack share its array
     * ({@link StackDepot}), so grouping by it first spares hashing every frame of every live block.
     */
    private record ArraySite(String heldBy, StackTraceElement[] stack) {
        @Override
        public boolean equals(Object other) {
            return other instanceof ArraySite site && site.stack == stack && site.heldBy.equals(heldBy);
        }

        @Override
        public int hashCode() {
            return 31 * heldBy.hashCode() + System.identityHashCode(stack);
        }
    }

    /** The leaked blocks of one {@link LeakSite}, and the holders among which they lie. */
    private static final class LeakGroup {
        long blocks;
        long bytes;
        final Set<BlockHolder> holders = Collections.newSetFromMap(new IdentityHashMap<>());
        /** The highest {@link BlockHolder#number()} among {@link #holders}; 0 if none. */
        long newestHolder;
        /** The blocks the holders handed out from inside these and did not get back; null if they hand out none. */
        HandedOutTally handedOut;

        void addHolder(BlockHolder holder) {
            holders.add(holder);
            newestHolder = Math.max(newestHolder, holder.number());
        }

        /** Adds {@code other}'s blocks, of a site with the same frames, to these. */
        void add(LeakGroup other) {
            blocks += other.blocks;
            bytes += other.bytes;
            holders.addAll(other.holders);
            newestHolder = Math.max(newestHolder, other.newestHolder);
            if (other.handedOut != null) {
                if (handedOut == null) {
                    handedOut = other.handedOut;
                } else {
                    handedOut.add(other.handedOut);
                }
            }
        }
    }

    /**
     * @param sampled whether the heap records only sampled blocks: then a pool's blocks whose take
     *     was not recorded are most of them, and the report says why
     */
    static LeakReport leaks(List<BlockRecord> live, String heap, boolean sampled) {
        // Keyed by holder name and stack, as LeakSanitizer groups by stack: a pool's page and a plain
        // block allocated at one line are different leaks, fixed differently, while arrays made in a
        // loop are one, counting its holders.
        Map<ArraySite, LeakGroup> byArray = new LinkedHashMap<>();
        long blocks = 0;
        long bytes = 0;
        for (BlockRecord block : live) {
            BlockHolder holder = block.owner;
            ArraySite key = new ArraySite(holder == null ? "" : holder.name(), block.allocStack);
            LeakGroup group = byArray.get(key);
            HandedOutBlocks handsOut = holder == null ? null : holder.handedOut();
            HandedOutTally tally = null;
            if (handsOut != null) {
                tally = group != null && group.handedOut != null ? group.handedOut : new HandedOutTally();
                if (!handsOut.tally(block.address, tally)) {
                    // Given back by its holder since the list of live blocks was taken: no leak.
                    continue;
                }
            }
            if (group == null) {
                group = new LeakGroup();
                byArray.put(key, group);
            }
            if (tally != null) {
                group.handedOut = tally;
            }
            group.blocks++;
            group.bytes += block.byteSize;
            if (holder != null) {
                group.addHolder(holder);
            }
            blocks++;
            bytes += block.byteSize;
        }
        Map<LeakSite, LeakGroup> sites = new LinkedHashMap<>();
        byArray.forEach((site, group) -> {
            LeakGroup same = sites.putIfAbsent(new LeakSite(site.heldBy(), Arrays.asList(site.stack())), group);
            if (same != null) {
                same.add(group);
            }
        });
        List<LeakReport.Site> list = new ArrayList<>();
        sites.forEach((key, group) -> list.add(new LeakReport.Site(group.blocks, group.bytes,
                List.copyOf(key.stack()), key.heldBy(), group.holders.size(), group.handedOut != null,
                group.handedOut == null ? List.of() : group.handedOut.groups(), group.newestHolder)));
        list.sort(Comparator.comparingLong(LeakReport.Site::bytes).reversed());
        if (list.isEmpty()) {
            return new LeakReport(0, 0, List.of(), "");
        }
        StringBuilder text = new StringBuilder("ERROR: malloc4j: detected memory leaks in heap '")
                .append(heap).append("'\n\n");
        for (LeakReport.Site site : list) {
            text.append(stack("Direct leak of " + site.bytes() + " byte(s) in " + site.blocks() + " object(s)"
                    + site.heldByWords() + " allocated from:", site.stack().toArray(StackTraceElement[]::new)));
            if (site.poolPages()) {
                text.append(handedOut(site, sampled));
            }
            text.append('\n');
        }
        text.append("SUMMARY: malloc4j: ").append(bytes).append(" byte(s) leaked in ").append(blocks)
                .append(" allocation(s).");
        return new LeakReport(blocks, bytes, List.copyOf(list), text.toString());
    }

    /**
     * @return what a leak of a pool's pages says of the pool's blocks in them: how many are still
     *     handed out, then each group of them by where it was taken, indented under the leak
     */
    private static String handedOut(LeakReport.Site site, boolean sampled) {
        String them = site.blocks() == 1 ? "it" : "them";
        if (site.handedOut().isEmpty()) {
            return "  No block inside " + them + " is handed out: only " + site.heldBy() + ", left open, keeps "
                    + them + ".\n";
        }
        StringBuilder text = new StringBuilder("  Inside ").append(them).append(", ").append(site.handedOutBytes())
                .append(" byte(s) in ").append(site.handedOutBlocks()).append(" block(s) of ").append(site.heldBy())
                .append(" still handed out, never given back:\n");
        for (LeakReport.HandedOut group : site.handedOut()) {
            String count = "    " + group.bytes() + " byte(s) in " + group.blocks() + " block(s)";
            if (group.recorded()) {
                text.append(indented(stack(count + " taken from:", group.stack().toArray(StackTraceElement[]::new))));
            } else {
                text.append(count).append(" whose take was not recorded (").append(sampled
                        ? "sampled mode records one block in the heap's sampleInterval"
                        : "taken on another thread while this report read the pool, which has no lock").append(")\n");
            }
        }
        return text.toString();
    }

    /** @return {@link #stack}'s frames moved four spaces right, under an indented heading */
    private static String indented(String stack) {
        return stack.replace("\n    #", "\n        #").replace("\n    (no frames", "\n        (no frames");
    }

    /**
     * The calling thread as reports name it: {@code thread "main"} (or {@code virtual thread "name"})
     * by its name, or, when it has none (virtual threads by default), {@code virtual thread #42} or
     * {@code thread #42} by its id, so reports of different unnamed threads tell them apart.
     *
     * @return the description, to follow "in", "allocated by" or "freed by"
     */
    public static String currentThread() {
        Thread thread = Thread.currentThread();
        if (thread.isVirtual()) {
            // No cache: a thread-local would give each of a million short virtual threads a map.
            return label(thread, thread.getName());
        }
        String name = thread.getName();
        String[] cached = THREAD_LABEL.get();
        if (cached == null || cached[0] != name) {
            cached = new String[] {name, label(thread, name)};
            THREAD_LABEL.set(cached);
        }
        return cached[1];
    }

    /**
     * @return how reports and messages name {@code thread}: {@code thread "name"}, or by its id when
     *     it has no name, as a virtual thread by default ({@code virtual thread #42}); a virtual
     *     thread is said to be one either way ({@code virtual thread "name"})
     */
    public static String thread(Thread thread) {
        return label(thread, thread.getName());
    }

    private static String label(Thread thread, String name) {
        String kind = thread.isVirtual() ? "virtual thread " : "thread ";
        return kind + (name.isEmpty() ? "#" + thread.threadId() : "\"" + name + "\"");
    }

    /** The title line, then the stack of the call that found the problem, as ASan prints them. */
    private static StringBuilder title(String what) {
        return new StringBuilder("ERROR: malloc4j: ").append(what).append(" in ")
                .append(currentThread()).append('\n').append(here()).append('\n');
    }

    /**
     * @return the first 8 frames below malloc4j of the call that found a problem, a line each, as
     *     the title of a report lists them
     */
    private static String here() {
        return titleFrames(StackCapture.capture());
    }

    private static String titleFrames(StackTraceElement[] here) {
        StringBuilder text = new StringBuilder();
        // Down to the frame the SUMMARY names, however deep in the JDK the call came from.
        int shown = here.length == 0 ? 0 : Math.min(here.length, Math.max(8, StackCapture.callSiteIndex(here) + 1));
        for (int i = 0; i < shown; i++) {
            text.append("    #").append(i).append(' ').append(here[i]).append('\n');
        }
        return text.toString();
    }

    /**
     * A report with no block records behind it (a fast block's, a pool's block, a segment of the
     * Java heap): the title line; when {@code callSite}, the calling frames, as a checked heap's
     * other reports give them (fast mode walks no stack); what the address is; {@code history}; and
     * the SUMMARY, naming the program's frame of the call ({@link StackCapture#callSite}) when there is one.
     *
     * @param what one line, without its indent or line end
     * @param history lines that follow it, each ending in a line end; empty for none
     * @param place what the SUMMARY says the misuse was in: {@code heap 'name'} or {@code pool 'name'}
     */
    public static MemoryMisuseException plain(Kind kind, String title, long address, String what, String history,
            String place, boolean callSite) {
        return plain(kind, kind.asanName(), title, address, what, history, place, callSite);
    }

    /**
     * {@link #plain(Kind, String, long, String, String, String, boolean)}, its SUMMARY calling the
     * misuse {@code name}
     */
    public static MemoryMisuseException plain(Kind kind, String name, String title, long address, String what,
            String history, String place, boolean callSite) {
        StackTraceElement[] site = callSite ? StackCapture.capture() : null;
        StringBuilder text = new StringBuilder("ERROR: malloc4j: ").append(title).append(" in ")
                .append(currentThread()).append('\n');
        if (site != null) {
            text.append(titleFrames(site)).append('\n');
        }
        text.append(what).append('\n').append(history);
        return summarize(kind, name, address, text, "", site, place);
    }

    /**
     * The warning for a live block whose segment from malloc the collector found unreachable: a
     * probable leak, which only the program can tell from a block it still reaches another way.
     */
    static String unreachableSegment(BlockRecord block, String heap) {
        return "WARNING: malloc4j: the segment of a live block became unreachable without free in heap '" + heap
                + "': a probable leak of " + describe(block) + ", unless the program still reaches the block"
                + " through its address or a segment derived from it (asSlice, reinterpret)\n"
                + stack("allocated by " + block.allocThread + " here:", block.allocStack);
    }

    /** Where {@code address} lies against {@code block}'s bytes, as AddressSanitizer words it. */
    private static String position(long address, BlockRecord block) {
        return AddressDescriptions.position(address - block.address, block.byteSize);
    }

    private static String describe(BlockRecord block) {
        return describe(block.address, block.byteSize);
    }

    private static String describe(long address, long byteSize) {
        return "the " + byteSize + "-byte region [0x" + hex(address) + ",0x" + hex(address + byteSize) + ")";
    }

    /** @return {@code heading} on a line, then {@code frames} a line each, numbered from #0 */
    public static String stack(String heading, StackTraceElement[] frames) {
        StringBuilder text = new StringBuilder(heading).append('\n');
        if (frames == null || frames.length == 0) {
            return text.append("    (no frames outside malloc4j)\n").toString();
        }
        for (int i = 0; i < frames.length; i++) {
            text.append("    #").append(i).append(' ').append(frames[i]).append('\n');
        }
        return text.toString();
    }

    private static MemoryMisuseException finish(Kind kind, long address, StringBuilder text,
                                                StackTraceElement[] site, String heap) {
        return finish(kind, address, text, "", site, heap);
    }

    /** @param siteIs what {@code site} is, before its frame in the SUMMARY; empty for the call's own */
    private static MemoryMisuseException finish(Kind kind, long address, StringBuilder text, String siteIs,
                                                StackTraceElement[] site, String heap) {
        return summarize(kind, kind.asanName(), address, text, siteIs, site, "heap '" + heap + "'");
    }

    /** @param name what the SUMMARY calls the misuse, as ASan does: mostly {@code kind}'s name */
    private static MemoryMisuseException summarize(Kind kind, String name, long address, StringBuilder text,
                                                   String siteIs, StackTraceElement[] site, String place) {
        text.append("SUMMARY: malloc4j: ").append(name);
        StackTraceElement caller = site != null ? StackCapture.callSite(site) : null;
        if (caller != null) {
            text.append(siteIs.isEmpty() ? "" : " " + siteIs).append(' ').append(caller);
        }
        text.append(" in ").append(place);
        return new MemoryMisuseException(kind, address, text.toString());
    }

    private static String hex(long value) {
        return Long.toHexString(value);
    }
}
