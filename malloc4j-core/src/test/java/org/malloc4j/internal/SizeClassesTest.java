package org.malloc4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The size-class table against what its Javadoc (and {@code Heap}'s) says about it. */
class SizeClassesTest {
    static final int KIB = 1024;

    @Test
    void everyBlockSizeIsAMultipleOfSixteen() {
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            assertEquals(0, SizeClasses.blockSize(c) % 16, "class " + c);
        }
    }

    @Test
    void blockSizesStrictlyIncrease() {
        for (int c = 1; c < SizeClasses.COUNT; c++) {
            assertTrue(SizeClasses.blockSize(c) > SizeClasses.blockSize(c - 1), "class " + c);
        }
    }

    @Test
    void theTableIsTheOneTheJavadocDraws() {
        int[][] documented = {
                {0, 16}, {1, 32}, {7, 128}, {8, 160}, {9, 192}, {10, 224}, {11, 256}, {12, 320}, {15, 512},
                {28, 5 * KIB}, {29, 6 * KIB}, {30, 7 * KIB}, {31, 8 * KIB},
                {44, 80 * KIB}, {45, 96 * KIB}, {46, 112 * KIB}, {47, 128 * KIB}};
        for (int[] row : documented) {
            assertEquals(row[1], SizeClasses.blockSize(row[0]), "class " + row[0]);
        }
        assertEquals(48, SizeClasses.COUNT);
    }

    @Test
    void aThreadHeapsMaskOfClassesWithACurrentPageHasABitForEachClass() {
        assertTrue(SizeClasses.COUNT <= Long.SIZE, SizeClasses.COUNT + " classes");
    }

    @Test
    void sixteenByteStepsUpToOneHundredTwentyEightThenFourClassesPerDoubling() {
        for (int c = 1; c < 8; c++) {
            assertEquals(16, SizeClasses.blockSize(c) - SizeClasses.blockSize(c - 1));
        }
        for (int c = 11; c < SizeClasses.COUNT; c += 4) {
            assertEquals(2 * SizeClasses.blockSize(c - 4), SizeClasses.blockSize(c), "class " + c);
        }
    }

    @Test
    void smallClassesEndAtSmallMaxAndMediumClassesAtMediumMax() {
        assertEquals(SizeClasses.SMALL_MAX, SizeClasses.blockSize(SizeClasses.FIRST_MEDIUM - 1));
        assertTrue(SizeClasses.blockSize(SizeClasses.FIRST_MEDIUM) > SizeClasses.SMALL_MAX);
        assertEquals(SizeClasses.MEDIUM_MAX, SizeClasses.blockSize(SizeClasses.COUNT - 1));
        assertFalse(SizeClasses.isMedium(SizeClasses.FIRST_MEDIUM - 1));
        assertTrue(SizeClasses.isMedium(SizeClasses.FIRST_MEDIUM));
        assertTrue(SizeClasses.isMedium(SizeClasses.COUNT - 1));
    }

    @Test
    void classOfIsTheSmallestClassWhoseBlocksHoldTheRequestForEverySizeUpToMediumMax() {
        int expected = 0;
        for (int n = 0; n <= SizeClasses.MEDIUM_MAX; n++) {
            while (SizeClasses.blockSize(expected) < n) {
                expected++;
            }
            int actual = SizeClasses.classOf(n);
            if (actual != expected) {
                fail("classOf(" + n + ") = " + actual + " (" + SizeClasses.blockSize(actual) + " B), expected "
                        + expected + " (" + SizeClasses.blockSize(expected) + " B)");
            }
        }
    }

    @Test
    void wasteIsAtMostTwentyPercentOfTheBlockForEveryRequestAboveOneHundredTwentyEightBytes() {
        double worst = 0;
        int worstSize = 0;
        for (int n = 129; n <= SizeClasses.MEDIUM_MAX; n++) {
            int block = SizeClasses.blockSize(SizeClasses.classOf(n));
            double waste = (double) (block - n) / block;
            if (waste > worst) {
                worst = waste;
                worstSize = n;
            }
        }
        assertTrue(worst <= 0.20, "a request of " + worstSize + " B wastes " + worst * 100 + " % of its block");
    }

    /**
     * Below 128 B the classes are 16 bytes apart, so the Javadoc bounds the waste in bytes instead:
     * "a smaller one at most 15 bytes".
     */
    @Test
    void wasteIsAtMostFifteenBytesForEveryRequestFromOneToOneHundredTwentyEightBytes() {
        for (int n = 1; n <= 128; n++) {
            int block = SizeClasses.blockSize(SizeClasses.classOf(n));
            assertTrue(block - n <= 15, "a request of " + n + " B gets a " + block + " B block");
        }
    }

    @Test
    void maxSlackBoundsTheSlackOfEveryNonZeroRequestAClassServes() {
        int[] largest = new int[SizeClasses.COUNT];
        for (int n = 1; n <= SizeClasses.MEDIUM_MAX; n++) {
            int c = SizeClasses.classOf(n);
            largest[c] = Math.max(largest[c], SizeClasses.blockSize(c) - n);
        }
        for (int c = 0; c < SizeClasses.COUNT; c++) {
            assertEquals(largest[c], SizeClasses.maxSlack(c), "class " + c);
        }
    }

    @Test
    void spacedSizeIsTheClassBlockSizeForEverySizeUpToMediumMax() {
        for (int n = 0; n <= SizeClasses.MEDIUM_MAX; n++) {
            long expected = SizeClasses.blockSize(SizeClasses.classOf(n));
            if (SizeClasses.spacedSize(n) != expected) {
                fail("spacedSize(" + n + ") = " + SizeClasses.spacedSize(n) + ", its class holds " + expected);
            }
        }
    }

    /** Past the table: four steps a doubling, each holding its request with less than 25 % more. */
    @Test
    void pastMediumMaxSpacedSizeKeepsFourStepsPerDoublingUpToTheLargestBlock() {
        for (long power = SizeClasses.MEDIUM_MAX; power < (1L << 46); power *= 2) {
            for (int quarter = 1; quarter <= 4; quarter++) {
                long step = power + quarter * power / 4;
                assertEquals(step, SizeClasses.spacedSize(step), "a step is its own size");
                assertEquals(step, SizeClasses.spacedSize(step - power / 4 + 1), "just past the step below");
                assertTrue(SizeClasses.spacedSize(step + 1) < (step + 1) * 5 / 4, "just past " + step);
            }
        }
        assertEquals(1L << 46, SizeClasses.spacedSize(1L << 46));
        assertEquals(1L << 62, SizeClasses.spacedSize(1L << 62));
    }

    @ParameterizedTest
    @ValueSource(ints = {32, 64, 128, 256, 512, 1024, 4096, 8192, 16384, 32768, 65536, 131072})
    void alignedClassOfIsTheSmallestClassHoldingTheRequestWithAlignedBlocks(int alignment) {
        for (int n = 0; n <= SizeClasses.MEDIUM_MAX; n += 7) {
            int expected = -1;
            for (int c = 0; c < SizeClasses.COUNT; c++) {
                if (SizeClasses.blockSize(c) >= Math.max(n, 1) && SizeClasses.blockSize(c) % alignment == 0) {
                    expected = c;
                    break;
                }
            }
            assertEquals(expected, SizeClasses.alignedClassOf(n, alignment), "size " + n);
        }
    }

    @Test
    void noClassAlignsToMoreThanItsLargestBlock() {
        assertEquals(-1, SizeClasses.alignedClassOf(1, 256 * KIB));
        assertEquals(-1, SizeClasses.alignedClassOf(100 * KIB, 256 * KIB));
    }
}
