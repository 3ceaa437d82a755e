"""Shot changes: where one continuous shot ends and the next begins, from the frames already sampled.

A clock sighting never spans a cut, so the scan stage finds the cuts in the same pass in which it
samples frames for the detector (ShotDetector.update on each frame), and the tracker splits
its tracks there.

The method is the classic one: compare the colour histogram of each sampled frame with that of the
one before, and call it a cut when they differ by more than a threshold. A histogram ignores where
things are in the picture, so motion, panning and grain barely move it, while a cut to another
scene replaces most of the colours at once. Its known blind spot is a cut between two scenes with
much the same colours, and a slow dissolve, which spreads the change over several samples.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

import cv2
import numpy as np

from pipeline.frames import Frame

# Bhattacharyya distance (0 = same colours, 1 = no colour in common) above which two consecutive
# samples are in different shots. Measured at two samples a second: within one shot of ffmpeg's
# testsrc2 (a pattern with a sweeping rainbow, harder than most footage), with heavy grain, or in
# a pan across it, consecutive samples stay below 0.36; cuts between different test patterns
# score 0.6 to 0.98.
DEFAULT_CUT_THRESHOLD = 0.5

# Histograms are taken on a small copy: it is cheap, and averaging pixels away removes grain.
_THUMBNAIL_WIDTH, _THUMBNAIL_HEIGHT = 64, 36
# Hue matters most for telling scenes apart, so it gets the most bins; saturation and value get a
# few each, so that a cut between scenes of the same hues but different light is still seen.
_HISTOGRAM_BINS = [16, 4, 4]
_HISTOGRAM_RANGES = [0, 180, 0, 256, 0, 256]  # OpenCV's 8-bit hue runs 0..179


def colour_histogram(image: np.ndarray) -> np.ndarray:
    """A normalised HSV histogram of an RGB uint8 image."""
    thumbnail = cv2.resize(image, (_THUMBNAIL_WIDTH, _THUMBNAIL_HEIGHT), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(thumbnail, cv2.COLOR_RGB2HSV)
    histogram = cv2.calcHist([hsv], [0, 1, 2], None, _HISTOGRAM_BINS, _HISTOGRAM_RANGES)
    return cv2.normalize(histogram, histogram, alpha=1.0, norm_type=cv2.NORM_L1)


def histogram_distance(first: np.ndarray, second: np.ndarray) -> float:
    """Bhattacharyya distance between two colour histograms: 0 for the same colours, 1 for none shared."""
    return float(cv2.compareHist(first, second, cv2.HISTCMP_BHATTACHARYYA))


class ShotDetector:
    """Finds cuts one frame at a time, so it can ride along with another stage's pass over the frames."""

    def __init__(self, *, threshold: float = DEFAULT_CUT_THRESHOLD) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], not {threshold}")
        self.threshold = threshold
        self.boundaries: list[float] = []  # the seconds at which a new shot starts, in order; never 0
        self._previous_histogram: np.ndarray | None = None

    def update(self, frame: Frame) -> bool:
        """Take the next frame in time order; True when it starts a new shot."""
        histogram = colour_histogram(frame.image)
        previous, self._previous_histogram = self._previous_histogram, histogram
        if previous is None or histogram_distance(previous, histogram) <= self.threshold:
            return False
        self.boundaries.append(frame.second)
        return True


def shot_boundaries(frames: Iterable[Frame], *, threshold: float = DEFAULT_CUT_THRESHOLD) -> list[float]:
    """The seconds at which a new shot starts (the first shot's start, 0, is not listed)."""
    detector = ShotDetector(threshold=threshold)
    for frame in frames:
        detector.update(frame)
    return detector.boundaries


def shot_index(boundaries: list[float], second: float) -> int:
    """Which shot a second falls in, counting from 0; a second on a boundary belongs to the shot it starts."""
    return bisect_right(boundaries, second)
