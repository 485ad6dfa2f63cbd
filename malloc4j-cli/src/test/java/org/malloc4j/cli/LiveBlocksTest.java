package org.malloc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link LiveBlocks} against a brute-force model. */
class LiveBlocksTest {
    private record Block(int id, long start, long size) {
        boolean overlaps(long otherStart, long otherSize) {
            return start < otherStart + Math.max(otherSize, 1) && otherStart < start + Math.max(size, 1);
        }
    }

    @Test
    void findsAnOverlapExactlyWhenTheModelDoes() {
        SplittableRandom random = new SplittableRandom(7);
        int numIds = 2_000;
        LiveBlocks live = new LiveBlocks(numIds);
        List<Block> model = new ArrayList<>();
        List<Integer> freeIds = new ArrayList<>();
        for (int id = 0; id < numIds; id++) {
            freeIds.add(id);
        }
        for (int step = 0; step < 50_000; step++) {
            long start = random.nextLong(100_000);
            long size = random.nextInt(5) == 0 ? 0 : random.nextLong(1, 300);
            boolean modelSays = model.stream().anyMatch(block -> block.overlaps(start, size));
            int found = live.overlapping(start, size);
            assertEquals(modelSays, found >= 0, "step " + step);
            if (found >= 0) {
                int id = found;
                assertEquals(true, model.stream().anyMatch(block -> block.id() == id && block.overlaps(start, size)));
            }
            if (!modelSays && !freeIds.isEmpty() && random.nextBoolean()) {
                int id = freeIds.remove(freeIds.size() - 1);
                live.add(id, start, size);
                model.add(new Block(id, start, size));
            } else if (!model.isEmpty() && random.nextInt(3) == 0) {
                Block gone = model.remove(random.nextInt(model.size()));
                live.remove(gone.id());
                freeIds.add(gone.id());
            }
            assertEquals(model.size(), live.size());
        }
    }
}
