package org.malloc4j.internal;

/**
 * A doubly linked list of pages through {@link Page#next} and {@link Page#prev}: a thread heap's,
 * by its owner, or the pages of ended threads, under the span lock. Adding a page allocates nothing.
 */
final class PageList {
    Page head;
    int size;

    void addFirst(Page page) {
        page.prev = null;
        page.next = head;
        if (head != null) {
            head.prev = page;
        }
        head = page;
        size++;
    }

    void remove(Page page) {
        if (page.prev != null) {
            page.prev.next = page.next;
        } else {
            head = page.next;
        }
        if (page.next != null) {
            page.next.prev = page.prev;
        }
        page.next = null;
        page.prev = null;
        size--;
    }

    void moveToFront(Page page) {
        if (head != page) {
            remove(page);
            addFirst(page);
        }
    }
}
