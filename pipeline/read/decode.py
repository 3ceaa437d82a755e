"""The time from the reader's hand distributions, decoded jointly.

The hour hand moves with the minutes: at h:m it points at 30·h + 0.5·m degrees. So the two hands
are not read apart. Every one of the 720 times of a 12-hour dial is scored by how likely the
minute head finds its minute and how likely the hour-hand head finds the angle that time puts
the hour hand at, and the best time wins. Reading the hour on its own is what turns 6:51 into
5:51 (the hour hand has nearly reached 7, so an hour classifier hesitates between 6 and 7); here
the minute says which side of the hour the hand must be on. Where the network also says how the
dial is turned (hand_net `up`), the hands are read against the turned dial, and where it says how
the dial is seen from the side (`squeeze`), against the squeezed one. A plain decode (the
argmax of the hour and minute heads) is kept to measure against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.read.dial_geometry import seen_degrees, squeeze_matrix

DIAL_MINUTES = 720
_FLOOR = 1e-6  # so that a zero probability is a large penalty, not minus infinity


@dataclass(frozen=True)
class DialTime:
    hour: int  # 0-11 (12 o'clock is 0)
    minute: int
    confidence: float  # the probability that the reading is within a minute of the truth


def at_positions(distribution: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """A distribution over bins around the dial, read at fractional bin positions (interpolated
    between neighbours; the bins wrap around)."""
    bins = len(distribution)
    lower = np.floor(positions).astype(int)
    share = positions - lower
    return distribution[lower % bins] * (1 - share) + distribution[(lower + 1) % bins] * share


# Where in its minute a dial time's minute hand is looked for, in minutes past the mark. A hand
# read off the dial says the nearest mark (10:31 for a hand just short of 31), a clock's own time
# the mark passed (10:30 at 10:30:50, the seconds moving the hands). The real split's labels are
# the first kind and the plain renderer's the second; top1 allows a minute either way. Measured
# with run 31 (models/README.md), real split / plain renderer: 0 -> 0.851 / 0.927; 0.25 -> 0.828
# / 0.945; 0.5 -> 0.799 / 0.953 (with the hour head's vote); under the reader's decode of both
# hands alone, 0 -> 0.866 and 0.25 -> 0.836 on the real split. Real photographs come first.
MINUTE_HAND_PAST_MARK = 0.0

# Tilts less likely than this share of the likeliest are not scored (they change nothing).
_UNLIKELY_TILT = 1e-3


def time_posterior(minute: np.ndarray, hour_hand: np.ndarray, hour: np.ndarray | None = None,
                   up: np.ndarray | None = None, squeeze: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """The probability of each of the 720 dial times, from the minute head (60), the hour-hand
    head (any number of bins around the dial) and, if given, the plain hour head (12).

    With `up` (where the dial's 12 points: bins clockwise from the crop's up), the hand heads
    are read against the crop's up: a time is scored at every tilt of the dial, the hands it
    puts where that tilt turns them, and the tilts are summed over, each as likely as `up` says.
    Without it the hands are read against the dial's 12 (no tilt). With `squeeze` (the dial's
    oblique squeeze, read/dial_geometry), every direction on the turned dial is squeezed as the
    crop shows it, the dial's 12 included, before it is looked up."""
    dial = np.arange(DIAL_MINUTES)
    stretch = None if squeeze is None else squeeze_matrix(squeeze)
    if up is None:
        tilts, tilt_scores = np.zeros(1), np.zeros(1)
    else:
        every_tilt = np.arange(len(up)) * 360 / len(up)
        seen_up = every_tilt if stretch is None else seen_degrees(stretch, every_tilt)
        up_at_tilt = at_positions(up, seen_up * len(up) / 360)
        likely = np.flatnonzero(up_at_tilt >= up_at_tilt.max() * _UNLIKELY_TILT)
        tilts, tilt_scores = every_tilt[likely], np.log(up_at_tilt[likely] + _FLOOR)
    hand_minutes = dial + MINUTE_HAND_PAST_MARK
    minute_degrees = (hand_minutes % 60) * 6.0 + tilts[:, None]
    hour_degrees = hand_minutes * 0.5 + tilts[:, None]
    if stretch is not None:
        minute_degrees, hour_degrees = seen_degrees(stretch, minute_degrees), seen_degrees(stretch, hour_degrees)
    scores = (np.log(at_positions(minute, minute_degrees * len(minute) / 360) + _FLOOR)
              + np.log(at_positions(hour_hand, hour_degrees * len(hour_hand) / 360) + _FLOOR)
              + tilt_scores[:, None])  # fmt: skip
    if hour is not None:
        scores = scores + np.log(hour[dial // 60] + _FLOOR)[None, :]
    scores -= scores.max()
    posterior = np.exp(scores).sum(axis=0)
    return posterior / posterior.sum()


def decode_joint(minute: np.ndarray, hour_hand: np.ndarray, hour: np.ndarray | None = None,
                 up: np.ndarray | None = None, squeeze: np.ndarray | None = None) -> DialTime:  # fmt: skip
    """The most likely time, and the probability mass within a minute of it (which is what
    top1 counts as right)."""
    return decode_posterior(time_posterior(minute, hour_hand, hour, up, squeeze))


def decode_posterior(posterior: np.ndarray) -> DialTime:
    """The most likely of the 720 dial times, and the probability mass within a minute of it."""
    best = int(posterior.argmax())
    return DialTime(hour=best // 60, minute=best % 60, confidence=within_a_minute(posterior, best))


def geometric_mean(distributions: list[np.ndarray]) -> np.ndarray:
    """The normalised geometric mean of distributions over the same outcomes (along the last
    axis; rows are kept apart): each distribution a vote of confidence, as the reader's views
    and its two readings of an oblique dial are."""
    log_mean = np.mean([np.log(distribution + _FLOOR) for distribution in distributions], axis=0)
    combined = np.exp(log_mean - log_mean.max(axis=-1, keepdims=True))
    return combined / combined.sum(axis=-1, keepdims=True)


def within_a_minute(posterior: np.ndarray, dial_minute: int) -> float:
    """The probability of the 720 dial times a minute or less from `dial_minute` (hour % 12 * 60
    + minute): the chance that reading is right, as top1 counts right."""
    return float(posterior[[(dial_minute + step) % DIAL_MINUTES for step in (-1, 0, 1)]].sum())


def decode_plain(minute: np.ndarray, hour: np.ndarray) -> DialTime:
    """Each head's argmax on its own: the formulation the joint decode is measured against."""
    best_hour, best_minute = int(hour.argmax()), int(minute.argmax())
    near = minute[[(best_minute - 1) % 60, best_minute, (best_minute + 1) % 60]].sum()
    return DialTime(hour=best_hour, minute=best_minute, confidence=float(hour[best_hour] * min(1.0, near)))


def cyclic_soft_label(index: np.ndarray | float, bins: int, sigma: float) -> np.ndarray:
    """A Gaussian bump around `index` (in bins, fractional allowed) on a circle of `bins`,
    summing to 1: the training target for a hand's angle, so near misses cost little."""
    centre = np.asarray(index, dtype=np.float64)[..., None]
    distance = np.abs(np.arange(bins) - centre) % bins
    distance = np.minimum(distance, bins - distance)
    bump = np.exp(-0.5 * (distance / sigma) ** 2)
    return bump / bump.sum(axis=-1, keepdims=True)
