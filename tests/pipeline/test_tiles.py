"""Tiled detection: the tiles cover the frame, their boxes come back in frame pixels, a clock cut
by a tile's inner edge is not counted, and one clock seen twice is one box."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.geometry import Box
from pipeline.scan.detector import FoundClock
from pipeline.scan.tiles import TiledDetector, merge, tile_grid


class BlobDetector:
    """Finds bright squares the way a detector with a small input does: the frame is shrunk to
    `image_size` px wide first, so a square under a few input pixels is lost."""

    device, confidence, image_size = "cpu", 0.5, 100

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def find(self, frames: list[np.ndarray]) -> list[list[FoundClock]]:
        found = []
        for frame in frames:
            self.calls.append(frame.shape[:2])
            scale = self.image_size / frame.shape[1]
            small = cv2.resize(frame[:, :, 0], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            count, _, stats, _ = cv2.connectedComponentsWithStats((small > 128).astype(np.uint8))
            found.append([FoundClock(Box(x / scale, y / scale, w / scale, h / scale), 0.9)
                          for x, y, w, h, area in stats[1:count] if area >= 9])  # fmt: skip
        return found


def _frame_with(*squares: tuple[int, int, int]) -> np.ndarray:
    frame = np.zeros((600, 1200, 3), np.uint8)
    for x, y, side in squares:
        frame[y : y + side, x : x + side] = 255
    return frame


def test_tiles_cover_the_frame_and_overlap():
    tiles = tile_grid(1200, 600, 3, 2, overlap=0.25)
    assert len(tiles) == 6
    assert min(t.x for t in tiles) == 0 and max(t.x + t.width for t in tiles) == 1200
    assert min(t.y for t in tiles) == 0 and max(t.y + t.height for t in tiles) == 600
    first, second = tiles[0], tiles[1]
    assert first.x + first.width - second.x == pytest.approx(0.25 * first.width, abs=1)


def test_a_clock_too_small_for_the_whole_frame_is_found_in_a_tile_at_its_place():
    frame = _frame_with((700, 420, 24))  # 2 px at the inner detector's scale: lost
    inner = BlobDetector()
    assert inner.find([frame]) == [[]]

    (clocks,) = TiledDetector(inner, 3, 2).find([frame])

    assert len(clocks) == 1
    box = clocks[0].box
    assert (box.x, box.y) == pytest.approx((700, 420), abs=6) and box.width == pytest.approx(24, abs=8)


def test_a_clock_seen_whole_and_in_tiles_is_one_box_and_halves_cut_by_tiles_are_dropped():
    # A large square straddles the tiles' inner edges: the tiles see pieces of it that touch their
    # edges; the whole frame sees all of it.
    frame = _frame_with((500, 200, 200))
    (clocks,) = TiledDetector(BlobDetector(), 3, 2).find([frame])
    assert len(clocks) == 1
    assert clocks[0].box.width == pytest.approx(200, abs=14)


def test_every_frame_of_a_batch_keeps_its_own_clocks():
    frames = [_frame_with((100, 100, 24)), _frame_with(), _frame_with((1000, 500, 30))]
    found = TiledDetector(BlobDetector(), 2, 2).find(frames)
    assert [len(clocks) for clocks in found] == [1, 0, 1]
    assert found[2][0].box.x == pytest.approx(1000, abs=6)
    assert TiledDetector(BlobDetector(), 2, 2).find([]) == []


def test_merge_keeps_the_surer_of_two_boxes_on_one_clock_and_drops_a_box_inside_one():
    sure = FoundClock(Box(0, 0, 100, 100), 0.9)
    again = FoundClock(Box(4, 4, 100, 100), 0.6)
    numeral = FoundClock(Box(40, 40, 15, 15), 0.5)
    other = FoundClock(Box(300, 0, 50, 50), 0.4)
    assert merge([again, numeral, sure, other]) == [sure, other]
