package org.malloc4j.internal;

/**
 * What an address is in a heap's memory, told from its pages alone, for {@code Heap.describe}
 * (AddressSanitizer's {@code __asan_describe_address}): the block around it, where in that block,
 * and whether the block is live, free, or was never handed out. Fast mode records no stacks, so
 * none are told here; a checked heap tells its records first ({@link CheckedAllocator#describe}).
 *
 * <p>The page is read without its owner's cooperation: another thread may allocate, free or lay
 * the page out again during the read, so each field is read once and a description may be of
 * a moment that has already passed. Nothing here writes.
 */
final class AddressDescriptions {
    private AddressDescriptions() {
    }

    /** @return the description of {@code address}, in {@code page} of {@code heap} */
    static String inPage(long address, Page page, String heap, String stacksHint) {
        BlockAround around = BlockAround.of(page, address);
        if (around == null) {
            return headline(address, "memory of heap '" + heap + "' that another thread was laying out again"
                    + " for a new size class during this call") + "no block lies there at this moment\n";
        }
        boolean single = around.single();
        int sizeClass = around.sizeClass();
        int blockSize = around.blockSize();
        int index = around.index();
        if (!single && index >= around.capacity()) {
            return headline(address, "no block of heap '" + heap + "'") + "0x" + hex(address) + " is "
                    + (address - page.start - (long) around.capacity() * blockSize) + " bytes past the last block of"
                    + " a page of " + blockSize + "-byte blocks (size class " + sizeClass + "): the page's tail,"
                    + " which no block uses\n";
        }
        long blockStart = around.start();
        long usable = around.usable();
        String kind = single ? (sizeClass == Page.HUGE ? "huge block" : "large block")
                : "block (size class " + sizeClass + ")";
        int state = page.blockStateUnheld(index);
        long requested = state == BlockState.LIVE ? page.requestedUnheld(index) : -1;
        if (requested > usable) {
            // Read while the owner resized the block in place: the two sizes are of different moments.
            requested = -1;
        }
        String what = switch (state) {
            case BlockState.LIVE -> (address - blockStart < usable ? "" : "memory past the end of ") + "a live " + kind
                    + " of heap '" + heap + "'" + (page.isOwned(index)
                    ? ", held by a scope, bump arena, pool or growable array" : "");
            case BlockState.FREED -> "a free " + kind + " of heap '" + heap + "', handed out and freed since its"
                    + " page was laid out";
            default -> "a " + kind + " of heap '" + heap + "' never handed out since its page was laid out";
        };
        StringBuilder text = new StringBuilder(headline(address, what));
        text.append("0x").append(hex(address)).append(" is located ")
                .append(position(address - blockStart, usable)).append(" the ").append(usable)
                .append("-byte block [0x").append(hex(blockStart)).append(",0x")
                .append(hex(blockStart + usable)).append(')');
        if (requested >= 0) {
            text.append(", of which ").append(requested).append(" bytes were requested");
            long past = address - blockStart - requested;
            if (past >= 0 && address - blockStart < usable) {
                text.append(" (").append(past).append(" bytes past them)");
            }
        }
        return text.append('\n').append(stacksHint).toString();
    }

    /** @return the description of an address in another heap's memory */
    static String otherHeap(long address, String owner, String heap) {
        return headline(address, "memory of heap '" + owner + "', not of heap '" + heap + "'")
                + "describe it through heap '" + owner + "'\n";
    }

    /** @return the description of an address in a heap's memory that no page holds */
    static String notHandedOut(long address, String heap) {
        return headline(address, "memory heap '" + heap + "' has reserved but not handed out")
                + "no block lies there\n";
    }

    /** @return the description of an address in the memory of a huge block a heap freed */
    static String inFreedHuge(long address, long blockStart, long usable, String heap) {
        long offset = address - blockStart;
        return headline(address, "memory of a huge block heap '" + heap + "' freed") + "0x" + hex(address)
                + " is located " + (usable < 0 ? offset + " bytes past the start of"
                : position(offset, usable) + " the " + usable + "-byte") + " huge block at 0x" + hex(blockStart)
                + "\n" + NO_HEAP_NOW;
    }

    /** @return the description of an address in memory a heap unmapped, whose blocks it no longer knows */
    static String inUnmapped(long address, String heap) {
        return headline(address, "memory heap '" + heap + "' held blocks in, all freed") + NO_HEAP_NOW;
    }

    /**
     * What memory a heap no longer maps is: a freed huge block's mapping stays for the purge delay,
     * for the next huge block to reuse, and other memory goes at once; after that anything, a
     * native library's mapping say, may take the range.
     */
    static final String NO_HEAP_NOW = "no heap holds blocks there now: a heap keeps such memory mapped for reuse"
            + " for at most the purge delay, then gives it back to the OS, and any mapping may take it after\n";

    /** @return the description of an address in a span of slices once a page's, part of which other pages took */
    static String inOldSpan(long address, String heap) {
        return headline(address, "free memory of heap '" + heap + "'") + "no block holds it now: it lies in the"
                + " span of a page all of whose blocks were freed, part of which holds other blocks since\n";
    }

    /** @return the description of an address in no open heap's memory */
    static String foreign(long address) {
        return headline(address, "not in the memory of any open malloc4j heap") + "foreign or stack memory, or"
                + " memory a heap has given back to the OS (a closed heap's, say)\n";
    }

    /** @return the first line of a description: the address, and what it is */
    static String headline(long address, String what) {
        return "0x" + hex(address) + ": " + what + "\n";
    }

    /** Where {@code offset} bytes from a block's start lie against its {@code byteSize} bytes, as ASan words it. */
    static String position(long offset, long byteSize) {
        if (offset < 0) {
            return -offset + " bytes to the left of";
        }
        if (offset >= byteSize) {
            return offset - byteSize + " bytes to the right of";
        }
        return offset + " bytes inside of";
    }

    private static String hex(long value) {
        return Long.toHexString(value);
    }
}
