package org.malloc4j.internal;

/**
 * The classes the first heap initializes, so that none is first loaded or initialized in the middle
 * of a heap operation. The JVM does both at a class's first use, on the Java heap: a class first
 * used halfway through an operation that met a full Java heap failed the operation there (a sampled
 * heap dropping a huge block whose record found no room first loaded the class that closes a block's
 * arena, and lost the block: 18 MB committed with nothing live), and a class whose initialization
 * fails so is unusable for the rest of the process. Not thread-safe: {@link HeapCore}'s
 * initialization calls it once.
 */
final class FirstHeapClasses {
    /**
     * Every class of this package but {@link HeapCore}, whose initialization runs this, and the
     * compiler's anonymous ones, by simple name ({@code Outer$Nested}). A test fails when a class is
     * missing.
     */
    static final String[] OWN = {"AddressDescriptions", "Allocator", "BlockAround", "BlockHolder", "BlockRecord",
            "BlockState", "CheckedAllocator$UnreachableReport", "CommitLimit", "FaultPolicy", "FirstHeapClasses",
            "FreedRecords", "FreedRecords$Freed", "HandedOutBlocks", "HandedOutTally", "HandedOutTally$Group",
            "HandedOutTally$Take", "HeapConfig", "HeldArenas", "HolderCall", "IdleCurrentPages", "KeptPages",
            "MisuseReports", "MovedSegment", "Os", "Os$Handles", "Os$Membarrier", "Page", "PageColdFields", "PageList",
            "PageSharedFields", "PurgedHoles", "Purger", "Purger$PurgerThreads", "Purger$Run", "Quarantine",
            "Redzones", "Region", "RegionMap", "RetainedMappings", "RetainedMappings$Mapping", "ReturnRun",
            "ReturnRun$Taken", "RingDeque", "SanitizerReports", "SanitizerReports$ArraySite",
            "SanitizerReports$LeakGroup", "SanitizerReports$LeakSite", "SizeClasses", "SpanAllocator",
            "SpanAllocator$FreedRuns", "SpanAllocator$OwnFreeRuns", "SpanAllocator$UnmappedRange", "SpareSlackArrays",
            "StackCapture", "StackDepot", "StackDepot$Kept", "StackDepot$Probe", "StateTableSums", "StripeLock",
            "StripedCounter", "ThreadHeap", "VirtualThreadHeaps"};
    /** Loaded, not initialized: its initialization starts a cleaner thread, with the first checked heap. */
    static final String[] LOADED_ONLY = {"CheckedAllocator"};
    /**
     * The JDK's own that a heap first uses, most likely in the process, where a failure would be
     * lasting: a class of the JDK's whose initialization fails is unusable for the rest of the
     * process too. An untimed wait on a condition initializes ForkJoinPool; one that met a full
     * Java heap on the purger's thread left every later such wait of the process failing, the
     * executor's queue's among them, so that each purger thread died at its first wait and no heap
     * was purged. ThreadLocalRandom picks a sampled heap's blocks: its failure failed every later
     * malloc. ObjectMethods makes a record's equals, hashCode and toString: the program's own, and
     * the public records malloc4j returns. (The core joins strings inline, with no class of the
     * JDK's: pom.xml.)
     */
    static final String[] JDK = {"java.util.concurrent.ForkJoinPool", "java.util.concurrent.ThreadLocalRandom",
            "java.lang.runtime.ObjectMethods", "java.util.concurrent.ScheduledThreadPoolExecutor$DelayedWorkQueue",
            "java.util.concurrent.ScheduledThreadPoolExecutor$ScheduledFutureTask",
            "java.util.concurrent.ThreadPoolExecutor$Worker"};

    private FirstHeapClasses() {
    }

    static void initializeAll() {
        String prefix = FirstHeapClasses.class.getPackageName() + ".";
        for (String name : OWN) {
            load(prefix + name, true);
        }
        for (String name : LOADED_ONLY) {
            load(prefix + name, false);
        }
        for (String name : JDK) {
            try {
                load(name, true);
            } catch (NoClassDefFoundError failedBefore) {
                // Its initialization failed before the first heap, for good, and no heap could be
                // made if this threw: heaps are made all the same, and only what needs the class
                // fails with its NoClassDefFoundError (without ThreadLocalRandom, a sampled heap's
                // mallocs; without ForkJoinPool, a purger's wait). Frees and reports need none of
                // ObjectMethods.
            }
        }
    }

    private static void load(String className, boolean initialize) {
        try {
            Class.forName(className, initialize, FirstHeapClasses.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new AssertionError(className, e);
        }
    }
}
