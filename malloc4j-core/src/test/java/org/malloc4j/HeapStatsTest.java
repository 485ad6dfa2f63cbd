package org.malloc4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Locale;
import org.junit.jupiter.api.Test;

/** {@link HeapStats}: its counters' rendering. */
class HeapStatsTest {
    private static final HeapStats STATS = new HeapStats("cache", 1_234_567, 234_567, 1_234_567_890, 1_300_000_000,
            1_400_000_000, 1_500_000_000, 2_147_483_648L, 4_294_967_296L, 65_536, 12, 3, 1_001, 123_456_789);

    /** A report pasted from a German or French machine reads as one from an English one. */
    @Test
    void toTextGroupsDigitsTheSameWhateverTheDefaultLocale() {
        Locale saved = Locale.getDefault();
        String english;
        String german;
        String french;
        try {
            Locale.setDefault(Locale.US);
            english = STATS.toText();
            Locale.setDefault(Locale.GERMANY);
            german = STATS.toText();
            Locale.setDefault(Locale.FRANCE);
            french = STATS.toText();
        } finally {
            Locale.setDefault(saved);
        }
        assertEquals(english, german);
        assertEquals(english, french);
        assertEquals("""
                heap cache
                  live blocks              1,000,000
                  mallocs                  1,234,567
                  frees                      234,567
                  requested            1,234,567,890 B
                  usable               1,300,000,000 B
                  committed            1,400,000,000 B
                  committed peak       1,500,000,000 B
                  reserved             2,147,483,648 B
                  reserved peak        4,294,967,296 B
                  metadata                    65,536 B
                  purged                 123,456,789 B
                  mmap calls                      12
                  munmap calls                     3
                  madvise calls                1,001
                """, english);
    }
}
