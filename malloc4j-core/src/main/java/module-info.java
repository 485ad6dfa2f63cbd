/**
 * malloc4j: a general-purpose off-heap memory allocator on the Foreign Function &amp; Memory API.
 * The API is in {@code org.malloc4j}; everything under {@code org.malloc4j.internal} is private.
 */
module org.malloc4j {
    exports org.malloc4j;
}
