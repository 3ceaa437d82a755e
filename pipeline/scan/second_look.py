"""A COCO detector with a second look at rendered-style clocks it misses.

COCO detectors find real clocks (on real photographs NanoDet-m finds 0.81 of them at 0.90
precision) but few flat, rendered ones (0.27 of the rendered test scenes). clockweb's own detector
is the reverse: 0.81 of rendered clocks, and on real photos many boxes that are not clocks. So the
COCO detector's boxes are kept, and the own detector's sure boxes are added where the COCO
detector found nothing, each only if the reader's kind head is sure it shows a clock. Measured on
both kinds of image in models/README.md.

A frame in which neither found anything gets a third look: is the frame itself a clock? Close-ups
in which the dial fills or overflows the frame (a film's insert shot of a clock face, a push-in
on a photograph) are outside what either detector learned, and both find nothing there. Two
squares of the frame go to the same reader check: the centred one (a dial as tall as the frame)
and the one around the whole frame (a dial the frame cuts off at top and bottom, which the
centred square shows only the hub of); the surer of the two is kept, the second only where the
centred one finds the hub more likely a clock than not. Measured in
models/README.md (`bench/whole_frame_look.py`): clockless photos framed as video, and real
dials blown up to fill and overflow the frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipeline.geometry import Box, inside_fraction
from pipeline.scan.detector import FoundClock, WrappingDetector, clock_boxes
from pipeline.scan.shots import DEFAULT_CUT_THRESHOLD, colour_histogram, histogram_distance

# The own detector's boxes are considered from this score up (its own default is 0.4: more
# boxes on real photos than the reader check can clear).
SECOND_LOOK_CONFIDENCE = 0.6
# A box is added only when the reader gives it at most this probability of showing no clock.
MAX_NO_CLOCK = 0.05
# ... and when it is not the COCO detector's clock again: overlapping one, or lying inside one.
MAX_OVERLAP = 0.3
MAX_INSIDE = 0.5

NoClockProbabilities = Callable[[list[np.ndarray], list[Box]], np.ndarray]


def _iou(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    inside = inside_fraction(boxes, others)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    other_area = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    intersection = inside * area[:, None]
    return intersection / (area[:, None] + other_area[None, :] - intersection + 1e-9)


@dataclass
class SecondLookDetector(WrappingDetector):
    """`primary`'s clocks, plus `secondary`'s that it missed and `no_clock` clears; the same
    interface as the detectors it combines."""

    primary: object
    secondary: object
    no_clock: NoClockProbabilities
    max_no_clock: float = MAX_NO_CLOCK
    whole_frame_look: bool = True

    @property
    def wrapped(self) -> object:
        return self.primary

    def find(self, frames: list[np.ndarray]) -> list[list[FoundClock]]:
        if not frames:
            return []
        found = self.primary.find(frames)
        extra = self.secondary.find(frames)
        candidates: list[tuple[int, FoundClock]] = []
        for index, (theirs, ours) in enumerate(zip(found, extra, strict=True)):
            if not ours:
                continue
            keep = np.ones(len(ours), bool)
            if theirs:
                mine, known = clock_boxes(ours), clock_boxes(theirs)
                keep &= _iou(mine, known).max(1) < MAX_OVERLAP
                keep &= inside_fraction(mine, known).max(1) < MAX_INSIDE
            candidates += [(index, clock) for clock, kept in zip(ours, keep, strict=True) if kept]
        # Frames with nothing in them, neither COCO's box nor a second-look candidate, grouped into
        # runs of the same view: the reader looks at the first frame of each run, and the rest
        # take its answer (a shot seen at 1 sample/s is mostly the same picture again).
        looked_at = {index for index, _ in candidates}
        empty = [index for index in range(len(frames)) if not found[index] and index not in looked_at]
        views = same_view_runs([frames[index] for index in empty]) if self.whole_frame_look else []
        # Each run's first frame is looked at in both whole-frame squares.
        squares_of_run = [whole_frame_squares(frames[empty[run[0]]]) for run in views]
        whole_frames = [(empty[run[0]], FoundClock(square, 0.0))
                        for run, squares in zip(views, squares_of_run, strict=True) for square in squares]  # fmt: skip
        looks = candidates + whole_frames
        if looks:
            no_clock = self.no_clock([frames[index] for index, _ in looks], [clock.box for _, clock in looks])
            for (index, clock), probability in zip(candidates, no_clock[: len(candidates)], strict=True):
                if probability <= self.max_no_clock:
                    found[index] = [*found[index], clock]
            first = len(candidates)
            for run, squares in zip(views, squares_of_run, strict=True):
                seen = no_clock[first : first + len(squares)]
                first += len(squares)
                chosen = chosen_square(seen, self.max_no_clock)
                if chosen is not None:
                    # A whole-frame box has no detector score: the reader's certainty stands for it.
                    # The frames of one video share a size, so the run's square serves each.
                    for member in run:
                        found[empty[member]] = [FoundClock(squares[chosen], 1.0 - float(seen[chosen]))]
        return found


def same_view_runs(frames: list[np.ndarray]) -> list[list[int]]:
    """Consecutive frames grouped into runs with no cut between them (the shot detector's test),
    as index lists."""
    runs: list[list[int]] = []
    previous = None
    for index, frame in enumerate(frames):
        histogram = colour_histogram(frame)
        if previous is not None and histogram_distance(previous, histogram) <= DEFAULT_CUT_THRESHOLD:
            runs[-1].append(index)
        else:
            runs.append([index])
        previous = histogram
    return runs


def centred_square(frame: np.ndarray) -> Box:
    """The largest square in the middle of the frame: where a close-up's dial is."""
    height, width = frame.shape[:2]
    side = min(height, width)
    return Box((width - side) / 2, (height - side) / 2, side, side)


def enclosing_square(frame: np.ndarray) -> Box:
    """The square around the whole frame, reaching past its short sides: where the dial of a
    closer shot is, one whose top and bottom the frame cuts off (the reader's crop fills what
    lies outside the frame from its edge)."""
    height, width = frame.shape[:2]
    side = max(height, width)
    return Box((width - side) / 2, (height - side) / 2, side, side)


def whole_frame_squares(frame: np.ndarray) -> tuple[Box, ...]:
    """Where a close-up's dial may be: filling the frame's height, or overflowing it."""
    return (centred_square(frame), enclosing_square(frame))


# The square around the frame is taken only where the centred square, which shows an overflowing
# dial's hub and hands, finds a clock more likely than not. Alone, it passed rendered clockless
# scenes: the reader's crop fills what lies past the frame by repeating its edge, and the reader
# learned such streaks from real clocks at the edges of photographs (models/README.md).
MAX_NO_CLOCK_AT_THE_HUB = 0.5


def chosen_square(no_clock: np.ndarray, max_no_clock: float = MAX_NO_CLOCK) -> int | None:
    """Which of `whole_frame_squares` (by index) holds the frame's clock, from the reader's
    P(no clock) for each; None when neither does."""
    centred, enclosing = float(no_clock[0]), float(no_clock[1])
    enclosing_passes = enclosing <= max_no_clock and centred < MAX_NO_CLOCK_AT_THE_HUB
    if centred <= max_no_clock and not (enclosing_passes and enclosing < centred):
        return 0
    return 1 if enclosing_passes else None
