package org.malloc4j.internal;

import java.lang.foreign.MemorySegment;

/**
 * Checked mode's redzones: how wide they are, and the search for a canary a write changed. The heap
 * puts them around its checked blocks, a {@code FixedSizePool} on a {@code FULL}-mode heap around
 * each block it hands out; both verify them the same way and report damage with
 * {@link SanitizerReports#overflow}.
 */
public final class Redzones {
    /** The bytes of canaries on each side of a block (in front of an aligned one, the last of the bytes before it). */
    public static final long BYTE_SIZE = 16;

    private Redzones() {
    }

    /** @return the offset of the first byte in {@code [from, from + length)} that is not {@code value}, or -1 */
    public static long firstNot(MemorySegment memory, long from, long length, byte value) {
        MemorySegment expected = MemorySegment.ofArray(new byte[(int) Math.min(length, 4096)]);
        expected.fill(value);
        for (long done = 0; done < length; done += expected.byteSize()) {
            long chunk = Math.min(expected.byteSize(), length - done);
            long mismatch = MemorySegment.mismatch(memory, from + done, from + done + chunk, expected, 0, chunk);
            if (mismatch >= 0) {
                return from + done + mismatch;
            }
        }
        return -1;
    }
}
