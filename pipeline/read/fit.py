"""One time per sighting, from the readings of several of its frames.

A clock on screen is either running (one minute per 60 s of video) or stopped (a prop, a
photograph, a shot shown in slow motion is close enough). Both are tried; each frame's reading
votes for a start time, the votes that agree within a minute are kept, and the rest are
outliers. A sighting whose frames do not mostly agree is rejected rather than guessed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from pipeline.clock_time import MINUTES_PER_HALF_DAY, dial_distance

HALF_DAY = MINUTES_PER_HALF_DAY
AGREEMENT_MINUTES = 1.0
MIN_AGREEING_SHARE = 0.6
# A fitted time at least this sure is accepted (and cut into a clip); below it, it waits for review.
ACCEPT_CONFIDENCE = 0.5


@dataclass(frozen=True)
class FrameReading:
    second: float
    hour: int  # 1-12
    minute: int
    confidence: float
    meridiem: str = "unknown"

    @property
    def minutes(self) -> int:
        return (self.hour % 12) * 60 + self.minute


@dataclass(frozen=True)
class FittedTime:
    hour: int
    minute: int
    meridiem: str
    confidence: float
    running: bool
    # The video second at which the clock shows hour:minute:00.
    shown_at_second: float
    inliers: int
    outliers: int


class Disagreement(ValueError):
    """The frames of a sighting read different times; the message says how they disagree."""


def _circular_mean(values: list[float], weights: list[float]) -> float:
    angles = [2 * math.pi * value / HALF_DAY for value in values]
    x = sum(w * math.cos(a) for a, w in zip(angles, weights, strict=True))
    y = sum(w * math.sin(a) for a, w in zip(angles, weights, strict=True))
    return (math.atan2(y, x) * HALF_DAY / (2 * math.pi)) % HALF_DAY


MIN_READINGS = 2


def fit_time(readings: list[FrameReading]) -> FittedTime:
    """The time the clock shows, fitted over the sighting; Disagreement when its frames don't agree."""
    if len(readings) < MIN_READINGS:
        raise Disagreement(f"only {len(readings)} readable frame(s); at least {MIN_READINGS} are needed")
    start = min(r.second for r in readings)
    # (score, running, agreeing frames, what each of them says the clock showed at the start)
    best: tuple[float, bool, list[FrameReading], list[float]] | None = None
    for running in (True, False):
        # What each frame says the clock showed at the start of the sighting.
        at_start = [(r.minutes - ((r.second - start) / 60 if running else 0)) % HALF_DAY for r in readings]
        # Readings are right to within a minute, so two frames reading 3:14 and 3:16 both fit 3:15:
        # try each reading and its neighbours as the centre.
        for candidate in sorted({(value + shift) % HALF_DAY for value in at_start for shift in (-1.0, 0.0, 1.0)}):
            pairs = [
                (r, v)
                for r, v in zip(readings, at_start, strict=True)
                if dial_distance(v, candidate) <= AGREEMENT_MINUTES
            ]
            score = sum(r.confidence for r, _ in pairs)
            # Prefer a running clock when both explain the frames equally: real clocks run.
            if best is None or score > best[0] + 1e-9:
                best = (score, running, [r for r, _ in pairs], [v for _, v in pairs])
    assert best is not None
    _, running, agreeing, agreeing_at_start = best
    share = len(agreeing) / len(readings)
    if share < MIN_AGREEING_SHARE:
        common = ", ".join(t for t, _ in Counter(f"{r.hour}:{r.minute:02d}" for r in readings).most_common(3))
        raise Disagreement(f"frames disagree: only {len(agreeing)} of {len(readings)} agree (most read {common})")
    shown = _start_interval(agreeing, start) if running else None
    minute_at_start = (
        shown if shown is not None else _circular_mean(agreeing_at_start, [r.confidence for r in agreeing])
    )
    whole = math.floor(minute_at_start + 1e-9) % HALF_DAY
    # The clock showed `whole`:00 this many minutes before the sighting began.
    shown_at = start - (minute_at_start - math.floor(minute_at_start + 1e-9)) * 60 if running else start
    meridiems = Counter(r.meridiem for r in agreeing if r.meridiem != "unknown")
    meridiem = "unknown"
    if meridiems:
        choice, votes = meridiems.most_common(1)[0]
        if votes > len(agreeing) / 2:
            meridiem = choice
    confidence = share * sum(r.confidence for r in agreeing) / len(agreeing)
    return FittedTime(
        hour=(whole // 60) or 12,
        minute=whole % 60,
        meridiem=meridiem,
        confidence=round(confidence, 4),
        running=running,
        shown_at_second=round(shown_at, 3),
        inliers=len(agreeing),
        outliers=len(readings) - len(agreeing),
    )


def _start_interval(readings: list[FrameReading], start: float) -> float | None:
    """For a running clock read in whole minutes, the start time that fits every frame:
    frame i says the clock showed between r_i and r_i + 1 minutes, minus the time since the start.
    The middle of the range all frames allow, or None when they allow none."""
    anchor = readings[0].minutes
    low, high = -math.inf, math.inf
    for reading in readings:
        elapsed = (reading.second - start) / 60
        # Unwrap around the dial relative to the first reading.
        value = anchor + ((reading.minutes - elapsed - anchor + HALF_DAY / 2) % HALF_DAY) - HALF_DAY / 2
        low, high = max(low, value), min(high, value + 1)
    if low >= high:
        return None
    return ((low + high) / 2) % HALF_DAY
