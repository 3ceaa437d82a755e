"""bench/real_videos.py: its side view narrows the photograph and the clock's box together."""

import numpy as np

from tests.support import load_bench


def test_a_side_view_narrows_the_photograph_and_its_box_together():
    bench = load_bench("real_videos")
    photo = np.zeros((100, 200, 3), np.uint8)
    photo[10:70, 40:100] = 255  # the clock, in its box
    narrowed, box = bench.seen_from_the_side(photo, (40, 10, 60, 60), 0.5)
    assert narrowed.shape == (100, 100, 3) and box == (20, 10, 30, 60)
    x, y, w, h = box
    assert narrowed[y : y + h, x : x + w].mean() > 250 and narrowed[:, x + w + 1 :].max() == 0
    assert bench.seen_from_the_side(photo, None, 0.5)[1] is None
    same, same_box = bench.seen_from_the_side(photo, (40, 10, 60, 60), 1.0)
    assert same is photo and same_box == (40, 10, 60, 60)
