package org.malloc4j.internal;

import org.malloc4j.MemoryMisuseException;
import org.malloc4j.MemoryMisuseException.Kind;

/**
 * Builds every {@link MemoryMisuseException} the fast core throws, in AddressSanitizer's layout: a
 * title line with the kind, the address and the thread; in a checked heap's core, the calling
 * frames; what the address is; a SUMMARY line, naming the first of those frames when there are
 * any. One place, so the fast path only calls a method and builds no strings.
 */
final class MisuseReports {
    private MisuseReports() {
    }

    /**
     * A freed block passed to {@code operation}: a double free for free and realloc (as ASan names
     * a realloc of a freed pointer), a use after free for anything else.
     */
    static MemoryMisuseException doubleFree(String operation, long address, Page page, HeapCore heap) {
        return freedBlock(operation, address, "0x" + hex(address) + " is the start of a "
                + describeBlock(page) + " that is already free (freed before, or its page was emptied since).",
                heap);
    }

    /** A block another thread freed while a realloc moved it: the realloc's new block went back. */
    static MemoryMisuseException freedDuringRealloc(long address, HeapCore heap) {
        return freedBlock("realloc", address, "0x" + hex(address) + " was freed by another thread while this realloc"
                + " moved it (a free racing the realloc); the realloc's new block went back.", heap);
    }

    /**
     * A block {@code operation} found free or never allocated, live again when the report was
     * made: another thread changed it meanwhile (a race of misuses).
     */
    static MemoryMisuseException changedDuringCall(String operation, long address, HeapCore heap) {
        return freedBlock(operation, address, "0x" + hex(address) + " is a live block, but another thread changed it"
                + " while this " + operation + " ran (a realloc resizing it in place, or a free and a malloc,"
                + " racing this " + operation + "); this " + operation + " changed nothing.", heap);
    }

    /** A freed block freed again ({@code free}, {@code realloc}) or used by any other operation. */
    private static MemoryMisuseException freedBlock(String operation, long address, String what, HeapCore heap) {
        if (!operation.equals("free") && !operation.equals("realloc")) {
            // Worded as checked mode's report of the same misuse (and ASan's) titles it.
            return report(Kind.USE_AFTER_FREE, "heap-use-after-free on address 0x" + hex(address) + " ("
                    + operation + ")", address, what, heap);
        }
        return report(Kind.DOUBLE_FREE, "attempting double-free on 0x" + hex(address) + " (" + operation + ")",
                address, what, heap);
    }

    static MemoryMisuseException doubleFreeUnmapped(String operation, long address, HeapCore heap) {
        return freedBlock(operation, address, "0x" + hex(address) + " is in memory heap '" + heap.name()
                + "' freed (a huge block's, or pages purged or trimmed), where no block starts now: its block was"
                + " freed before.", heap);
    }

    /**
     * An address in memory this heap gave back to the OS that no block can have started at, as
     * every block starts at a multiple of {@code minAlignment}: a bad free, not a double free.
     */
    static MemoryMisuseException misalignedInUnmapped(String operation, long address, long minAlignment,
            HeapCore heap) {
        return notAllocated(operation, address, "is in memory heap '" + heap.name()
                + "' freed (pages purged or trimmed), and no block ever started there: every block starts at a multiple of " + minAlignment
                + " bytes (an interior or wild address)", heap);
    }

    /**
     * An address other than the start in the mapping of a huge block this heap freed, which no heap
     * has made since. The mapping runs past the block (address space kept to grow into), so the
     * address is inside the block or past its end, as {@link #interior} says of a live one.
     *
     * @param usable the block's usable size, or -1 if the heap no longer knows it: then the report
     *     says only how far from the block's start the address is
     */
    static MemoryMisuseException inFreedHuge(String operation, long address, long blockStart, long usable,
            HeapCore heap) {
        long offset = address - blockStart;
        String where = usable < 0 ? offset + " bytes past the start of the huge block"
                : offset < usable ? offset + " bytes inside the " + usable + "-byte huge block"
                : (offset - usable) + " bytes past the end of the " + usable + "-byte huge block";
        return notAllocated(operation, address, "is " + where + " at 0x" + hex(blockStart) + " that heap '"
                + heap.name() + "' freed: only the address a block starts at may be passed", heap);
    }

    static MemoryMisuseException mismatch(String operation, long address, HeapCore heap) {
        return report(Kind.ALLOC_DEALLOC_MISMATCH, "alloc-dealloc-mismatch (a scope, bump arena, pool or growable array vs Heap."
                + operation + ") on 0x" + hex(address), address, "0x" + hex(address)
                + " is a live block held by a scope, bump arena, pool or growable array: "
                + SanitizerReports.heldBlock(operation) + ".", heap);
    }

    /**
     * @return whether {@code operation} through the heap is a mismatch on a block a scope, bump
     *     arena, pool or growable array holds, or on memory inside one
     */
    static boolean refusesHeld(String operation) {
        return operation.equals("free") || operation.equals("realloc") || operation.equals("usableSize");
    }

    static MemoryMisuseException notAllocated(String operation, long address, String why, HeapCore heap) {
        return badAddress(operation, address, "0x" + hex(address) + " " + why + ".", heap);
    }

    static MemoryMisuseException interior(String operation, long address, Page page, HeapCore heap) {
        // Read once: another thread may lay the page out again meanwhile (a misuse racing a free).
        BlockAround around = BlockAround.of(page, address);
        if (around == null) {
            return notAllocated(operation, address, "is in memory another thread was laying out again during"
                    + " this call: no block starts there (a wild or stale address)", heap);
        }
        long blockStart = around.start();
        int index = around.index();
        int blockSize = around.blockSize();
        int sizeClass = around.sizeClass();
        long offset = address - blockStart;
        // A large or huge block's span runs past its usable size (address space kept for growing in
        // place): an address there is past the block's end, not inside it.
        long usable = around.usable();
        String block = describeBlock(around.single(), blockSize, sizeClass);
        String inside = "0x" + hex(address) + " is " + (offset < usable ? offset + " bytes inside the "
                : (offset - usable) + " bytes past the end of the " + usable + "-byte ");
        // The page may have been laid out for another size class since the caller's block was
        // freed there: then the block around the address is no block the caller ever had.
        int state = page.blockStateUnheld(index);
        if (refusesHeld(operation) && state == BlockState.LIVE && page.isOwned(index)) {
            // A block a pool handed out, or a slice of an arena, lies inside a block its holder has
            // from the heap: the holder, not the heap, takes it back.
            return report(Kind.ALLOC_DEALLOC_MISMATCH, "alloc-dealloc-mismatch (a scope, bump arena, pool or growable"
                    + " array vs Heap." + operation + ") on 0x" + hex(address), address,
                    inside + block + " at 0x" + hex(blockStart) + ", a live block held by a"
                            + " scope, bump arena, pool or growable array: " + SanitizerReports.heldInside(operation)
                            + ".", heap);
        }
        String what = switch (state) {
            case BlockState.LIVE -> inside + block + " at 0x" + hex(blockStart)
                    + ": only the address a block starts at may be passed.";
            case BlockState.FREED -> inside + "free " + block + " at 0x"
                    + hex(blockStart) + ": no live block starts there (a stale address: its block was"
                    + " freed, or its memory has served another size class since).";
            default -> "0x" + hex(address) + " is in memory that no block has held since its page"
                    + " was laid out for blocks of " + blockSize + " bytes (size class "
                    + sizeClass + "): a wild address, or a stale one whose block was freed before.";
        };
        return badAddress(operation, address, what, heap);
    }

    /**
     * An address in no open heap's memory. It may never have been a heap's (foreign or stack
     * memory), or be memory a heap gave back to the OS: all of a closed heap's, or this heap's, given
     * back longer ago than the ranges it remembers.
     */
    static MemoryMisuseException foreign(String operation, long address, HeapCore heap) {
        return notAllocated(operation, address, "is not in the memory of any open malloc4j heap: foreign or stack"
                + " memory, or memory a heap has given back to the OS (a closed heap's, say)", heap);
    }

    static MemoryMisuseException otherHeap(String operation, long address, String owner, HeapCore heap) {
        // The block may well be malloc()-ed, by another heap: the title says by which not.
        return report(Kind.BAD_FREE, SanitizerReports.badAddressName(operation), "attempting " + operation
                + " on address which was not malloc()-ed by heap '" + heap.name() + "': 0x" + hex(address), address,
                "0x" + hex(address) + " belongs to heap '" + owner + "', not '" + heap.name() + "': call " + operation
                + " on what allocated it there (that heap, or the scope, arena, pool or array holding it).", heap);
    }

    private static MemoryMisuseException badAddress(String operation, long address, String what, HeapCore heap) {
        return report(Kind.BAD_FREE, SanitizerReports.badAddressName(operation), "attempting " + operation
                + " on address which was not malloc()-ed: 0x" + hex(address), address, what, heap);
    }

    private static String describeBlock(Page page) {
        return describeBlock(page.isSingle(), page.blockSize, page.sizeClass);
    }

    private static String describeBlock(boolean single, int blockSize, int sizeClass) {
        if (single) {
            return (sizeClass == Page.HUGE ? "huge" : "large") + " block";
        }
        return blockSize + "-byte block (size class " + sizeClass + ")";
    }

    private static MemoryMisuseException report(Kind kind, String title, long address, String what, HeapCore heap) {
        return report(kind, kind.asanName(), title, address, what, heap);
    }

    private static MemoryMisuseException report(Kind kind, String name, String title, long address, String what,
            HeapCore heap) {
        return SanitizerReports.plain(kind, name, title, address, what, "", "heap '" + heap.name() + "'",
                heap.reportsCallSites());
    }

    private static String hex(long address) {
        return Long.toHexString(address);
    }
}
