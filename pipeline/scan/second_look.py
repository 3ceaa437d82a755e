"""A COCO detector with a second look at rendered-style clocks it misses.

COCO detectors find real clocks (on real photographs NanoDet-m finds 0.81 of them at 0.90
precision) but few flat, rendered ones (0.27 of the rendered test scenes). clockweb's own detector
is the reverse: 0.81 of rendered clocks, and on real photos many boxes that are not clocks. So the
COCO detector's boxes are kept, and the own detector's sure boxes are added where the COCO
detector found nothing, each only if the reader's kind head is sure it shows a clock. Measured on
both kinds of image in models/README.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pipeline.geometry import Box, inside_fraction
from pipeline.scan.detector import FoundClock, WrappingDetector, clock_boxes

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
        if candidates:
            no_clock = self.no_clock([frames[index] for index, _ in candidates], [clock.box for _, clock in candidates])
            for (index, clock), probability in zip(candidates, no_clock, strict=True):
                if probability <= self.max_no_clock:
                    found[index] = [*found[index], clock]
        return found
