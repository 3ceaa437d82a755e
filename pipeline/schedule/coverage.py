"""How well the catalog covers the 1440 minutes of the day: what the browse page summarises."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.clock_time import MINUTES_PER_DAY


@dataclass(frozen=True)
class Gap:
    start: int  # the first minute of the day without a clip
    length: int  # minutes in a row without one (wrapping past midnight)


@dataclass(frozen=True)
class Coverage:
    covered: int
    longest_gap: Gap | None  # None when every minute has a clip
    most_served: tuple[tuple[int, int], ...]  # (minute of day, clips), most first


def coverage(counts: list[int], *, top: int = 5) -> Coverage:
    """Summarise clips per minute of the day. A gap that runs past midnight is one gap: the live
    clock plays fallbacks through it without a break."""
    if len(counts) != MINUTES_PER_DAY:
        raise ValueError(f"expected {MINUTES_PER_DAY} counts, got {len(counts)}")
    covered = sum(1 for count in counts if count)
    longest = None
    if covered == 0:
        longest = Gap(0, MINUTES_PER_DAY)
    elif covered < MINUTES_PER_DAY:
        # Walk the day once, starting just after a covered minute, so no gap is split at midnight.
        first = next(minute for minute in range(MINUTES_PER_DAY) if counts[minute])
        run_start, run = None, 0
        for step in range(1, MINUTES_PER_DAY + 1):
            minute = (first + step) % MINUTES_PER_DAY
            if counts[minute]:
                if run and (longest is None or run > longest.length):
                    longest = Gap(run_start, run)
                run = 0
            else:
                if run == 0:
                    run_start = minute
                run += 1
    ranked = sorted((minute for minute in range(MINUTES_PER_DAY) if counts[minute]), key=lambda m: (-counts[m], m))
    return Coverage(covered, longest, tuple((minute, counts[minute]) for minute in ranked[:top]))


def neighbours(counts: list[int], minute_of_day: int, *, reach: int = 5) -> list[tuple[int, int]]:
    """(minute, clips) for the minutes around one, `reach` either side, wrapping past midnight."""
    minutes = [(minute_of_day + step) % MINUTES_PER_DAY for step in range(-reach, reach + 1)]
    return [(minute, counts[minute]) for minute in minutes]


def nearest_earlier_covered(counts: list[int], minute_of_day: int) -> int | None:
    """The nearest minute at or before this one (wrapping) with a clip: what the live clock borrows."""
    for step in range(MINUTES_PER_DAY):
        minute = (minute_of_day - step) % MINUTES_PER_DAY
        if counts[minute]:
            return minute
    return None
