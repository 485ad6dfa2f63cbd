package org.malloc4j.cli;

/**
 * Whether an allocator could run, and if not why not.
 *
 * @param name the allocator's name
 * @param available whether it ran
 * @param reason why it was skipped (null if it ran)
 * @param footprintSource what its footprint figure measures (null if it was skipped)
 * @param footprintInOwnProcess whether its footprint is measured in a fresh process per trace (see
 *     {@link ReplayAllocator#footprintNeedsOwnProcess()})
 */
public record AllocatorStatus(String name, boolean available, String reason, String footprintSource,
        boolean footprintInOwnProcess) {
    /** @return the status of an allocator that runs */
    static AllocatorStatus available(ReplayAllocator allocator) {
        return new AllocatorStatus(allocator.name(), true, null, allocator.footprintSource(),
                allocator.footprintNeedsOwnProcess());
    }

    /** @return the status of an allocator that was skipped */
    static AllocatorStatus skipped(String name, String reason) {
        return new AllocatorStatus(name, false, reason, null, false);
    }

    /** @return the status of an allocator asked for in a run in which no trace could be replayed */
    static AllocatorStatus notRun(String name) {
        return skipped(name, "not run: no trace could be replayed");
    }
}
