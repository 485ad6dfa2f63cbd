/**
 * A JUnit 5 extension for malloc4j: each test gets a checked {@link org.malloc4j.Heap}, fails if
 * it leaks, and may run with fault injection. See {@link org.malloc4j.junit.Malloc4jExtension}.
 */
module org.malloc4j.junit {
    requires transitive org.malloc4j;
    requires transitive org.junit.jupiter.api;

    exports org.malloc4j.junit;
}
