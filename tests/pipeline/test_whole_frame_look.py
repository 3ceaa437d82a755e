"""The whole-frame look: a close-up in which the dial fills the frame, where neither detector
finds a box, is a clock when the reader's kind head is sure of it."""

from __future__ import annotations

import numpy as np

from pipeline.geometry import Box
from pipeline.scan.detector import FoundClock
from pipeline.scan.second_look import SecondLookDetector, same_view_runs


class FindsNothing:
    def find(self, frames):
        return [[] for _ in frames]


class FindsInFirst:
    def find(self, frames):
        return [[FoundClock(Box(10, 10, 20, 20), 0.9)] if index == 0 else [] for index in range(len(frames))]


class KindHead:
    """P(no clock): low for the bright "dials", high for anything else; records what it was shown."""

    def __init__(self):
        self.calls: list[list[Box]] = []

    def __call__(self, frames, boxes):
        self.calls.append(list(boxes))
        return np.array([0.01 if frame.mean() > 128 else 0.9 for frame in frames])


def frame(brightness: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.integers(-40, 40, size=(72, 128, 3)) if seed else 0
    return np.clip(np.full((72, 128, 3), brightness) + noise, 0, 255).astype(np.uint8)


def test_a_close_up_that_no_detector_finds_gets_the_centred_square_when_the_reader_is_sure():
    kind = KindHead()
    detector = SecondLookDetector(FindsNothing(), FindsNothing(), kind)
    found = detector.find([frame(30, seed=1), frame(220, seed=2)])
    assert found[0] == []  # a dark scene the reader calls no clock
    assert [clock.box for clock in found[1]] == [Box(28, 0, 72, 72)]
    assert found[1][0].confidence == 0.99


class SureOnlyOfTheEnclosingSquare:
    """P(no clock) low for the square around the whole frame (a dial the frame cuts off), and
    `at_the_hub` for the centred square, which shows only the dial's middle."""

    def __init__(self, at_the_hub: float = 0.3):
        self.at_the_hub = at_the_hub

    def __call__(self, frames, boxes):
        return np.array([0.02 if box.width == max(frame.shape[:2]) else self.at_the_hub
                         for frame, box in zip(frames, boxes, strict=True)])  # fmt: skip


def test_a_dial_that_overflows_the_frame_gets_the_square_around_the_whole_frame():
    detector = SecondLookDetector(FindsNothing(), FindsNothing(), SureOnlyOfTheEnclosingSquare())
    found = detector.find([frame(220)])
    # 128 x 72: the square reaches 28 px past the top and the bottom.
    assert [clock.box for clock in found[0]] == [Box(0, -28, 128, 128)]
    assert found[0][0].confidence == 0.98


def test_the_square_around_the_frame_is_not_taken_where_the_middle_shows_no_clock():
    # A scene whose middle is no clock at all: the square around it, its edges repeated past the
    # frame, is not believed, however sure the reader is of it.
    detector = SecondLookDetector(FindsNothing(), FindsNothing(), SureOnlyOfTheEnclosingSquare(at_the_hub=0.9))
    assert detector.find([frame(220)]) == [[]]


def test_when_both_squares_pass_the_one_surer_of_a_clock_is_kept():
    def kind(frames, boxes):
        return np.array(
            [0.04 if box.width == min(frame.shape[:2]) else 0.01 for frame, box in zip(frames, boxes, strict=True)]
        )

    found = SecondLookDetector(FindsNothing(), FindsNothing(), kind).find([frame(220)])
    assert [clock.box for clock in found[0]] == [Box(0, -28, 128, 128)]


def test_frames_of_one_view_are_looked_at_once_and_share_the_answer():
    kind = KindHead()
    detector = SecondLookDetector(FindsNothing(), FindsNothing(), kind)
    dial = frame(220)
    found = detector.find([dial, dial.copy(), dial.copy(), frame(30, seed=3)])
    assert [len(clocks) for clocks in found] == [1, 1, 1, 0]
    # One look for the dial's run and one for the scene, each in both squares.
    assert len(kind.calls) == 1 and len(kind.calls[0]) == 4


def test_frames_with_a_box_and_a_switched_off_look_are_left_alone():
    kind = KindHead()
    found = SecondLookDetector(FindsInFirst(), FindsNothing(), kind).find([frame(220), frame(30, seed=4)])
    assert [clock.box for clock in found[0]] == [Box(10, 10, 20, 20)]  # COCO's box, no whole-frame box beside it
    assert found[1] == []
    assert [len(call) for call in kind.calls] == [2]  # only the empty frame was looked at (in both squares)
    kind = KindHead()
    off = SecondLookDetector(FindsNothing(), FindsNothing(), kind, whole_frame_look=False)
    assert off.find([frame(220)]) == [[]]
    assert kind.calls == []


def test_same_view_runs_split_at_a_cut():
    dark, bright = frame(30), frame(220)
    assert same_view_runs([dark, dark, bright, bright, dark]) == [[0, 1], [2, 3], [4]]
