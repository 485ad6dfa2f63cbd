/**
 * The allocator behind {@link org.malloc4j.Heap}. Not exported.
 *
 * <h2>Glossary</h2>
 * <dl>
 *   <dt>block</dt><dd>one allocation, handed to the user.</dd>
 *   <dt>OS page</dt><dd>the operating system's 4 KiB unit of commit and decommit.</dd>
 *   <dt>region</dt><dd>a 32 MiB aligned reservation of address space ({@link org.malloc4j.internal.Region});
 *       mimalloc calls it a segment, a word Java's {@code MemorySegment} owns.</dd>
 *   <dt>slice</dt><dd>a 64 KiB, 64 KiB-aligned piece of a region; pages are made of slices.</dd>
 *   <dt>page</dt><dd>a span of slices with blocks of one size class (64 KiB for small classes,
 *       512 KiB for medium ones), or one large block ({@link org.malloc4j.internal.Page}).</dd>
 *   <dt>size class</dt><dd>an index into {@link org.malloc4j.internal.SizeClasses}.</dd>
 *   <dt>thread heap</dt><dd>the pages a thread allocates from ({@link org.malloc4j.internal.ThreadHeap}).</dd>
 *   <dt>local / remote free</dt><dd>a free by the page's owner thread (plain writes to the free
 *       bitmap) or by any other thread (one atomic add of its bit to the page's remote bitmap),
 *       mimalloc's free-list sharding; either first claims the block with a compare-and-set of
 *       its state.</dd>
 *   <dt>retired page</dt><dd>a page whose blocks are all free, still committed, in the pool until the
 *       purge delay passes, or until a commit would set a new peak footprint (while the peak is
 *       guarded: not in a loop that would fault the same memory in again each round).</dd>
 *   <dt>purge</dt><dd>returning a retired page's memory with {@code madvise(MADV_DONTNEED)}.</dd>
 *   <dt>scavenge</dt><dd>returning, before a commit would set a new peak footprint, the memory a
 *       thread's pages in use hold without using it: committed tails past bump pointers and OS pages
 *       that only free blocks overlap.</dd>
 *   <dt>hole</dt><dd>a free block whose memory a scavenge returned: out of the free bitmap, and its OS
 *       pages out of the committed count, until its page runs out of room and takes it back.</dd>
 *   <dt>abandoned page</dt><dd>a page of a thread that ended, waiting for another thread to adopt it.</dd>
 *   <dt>committed</dt><dd>bytes the heap counts as backed: OS pages a bump pointer has reached.</dd>
 *   <dt>footprint</dt><dd>committed bytes (plus the metadata estimate, as {@code malloc4j replay} counts
 *       it); utilization is peak live bytes over peak footprint.</dd>
 * </dl>
 *
 * <h2>Who touches what</h2>
 * A thread heap and its pages' plain fields belong to one platform thread (or to whoever holds a
 * shared thread heap's lock). Regions, the page pool, abandoned pages, large blocks and the
 * registry of thread heaps are guarded by {@link org.malloc4j.internal.SpanAllocator#lock}. Other
 * threads only touch a page's remote bitmap, its remote count and its full flag, atomically.
 */
package org.malloc4j.internal;
