"""Times of day as clocks show them: 12-hour faces, an AM/PM that may be unknown, minutes of the day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import numpy as np

MINUTES_PER_DAY = 1440
MINUTES_PER_HALF_DAY = 720

_HH_MM = re.compile(r"^(?P<hour>\d{1,2}):(?P<minute>\d{2})$")
_CLOCK_ENTRY = re.compile(r"^(?P<hour>\d{1,2})[:.h]?(?P<minute>\d{2})\s*(?P<meridiem>[ap]\.?m?\.?)?$", re.IGNORECASE)


class Meridiem(StrEnum):
    AM = "am"
    PM = "pm"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ClockTime:
    """What a clock shows: hour 1-12 and minute 0-59; AM/PM is often unknowable from a dial."""

    hour: int
    minute: int
    meridiem: Meridiem = Meridiem.UNKNOWN

    def __post_init__(self) -> None:
        if not 1 <= self.hour <= 12:
            raise ValueError(f"hour must be 1-12, got {self.hour}")
        if not 0 <= self.minute <= 59:
            raise ValueError(f"minute must be 0-59, got {self.minute}")

    @property
    def minutes_of_day(self) -> tuple[int, ...]:
        """Every minute of the day this clock could be showing: one slot, or two when AM/PM is unknown."""
        morning = (self.hour % 12) * 60 + self.minute
        if self.meridiem is Meridiem.AM:
            return (morning,)
        if self.meridiem is Meridiem.PM:
            return (morning + MINUTES_PER_HALF_DAY,)
        return (morning, morning + MINUTES_PER_HALF_DAY)

    def __str__(self) -> str:
        suffix = "" if self.meridiem is Meridiem.UNKNOWN else f" {self.meridiem.value.upper()}"
        return f"{self.hour}:{self.minute:02d}{suffix}"


def parse_minute_of_day(text: str) -> int:
    """'HH:MM' on a 24-hour clock (00:00-23:59) to a minute of the day; ValueError with a clear message."""
    match = _HH_MM.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time; use HH:MM on a 24-hour clock, e.g. 09:05 or 23:59")
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time of day; hours run 00-23 and minutes 00-59")
    return hour * 60 + minute


def hour_can_be_shown(hour: int, marked: bool) -> bool:
    """Whether a clock can write this hour: 1-12 beside an AM/PM marker, 0-23 without one."""
    return 1 <= hour <= 12 if marked else 0 <= hour <= 23


def parse_clock_entry(text: str) -> tuple[ClockTime, bool]:
    """What a curator typed for a clock: "10:42", "10:42 pm", "1042" or "22:42". Returns the time
    and whether the entry said AM/PM itself (a 24-hour hour or a marker); "10:42" alone leaves
    AM/PM to whoever asked. ValueError with a clear message otherwise."""
    match = _CLOCK_ENTRY.match(text.strip())
    if match is None:
        raise ValueError(f"{text.strip()!r} is not a clock time; type it as the clock shows it, e.g. 10:42 or 10:42 pm")
    hour, minute = int(match["hour"]), int(match["minute"])
    marker = (match["meridiem"] or "").lower()[:1]
    if minute > 59 or not hour_can_be_shown(hour, bool(marker)):
        raise ValueError(f"{text.strip()!r} is not a time of day")
    if marker:
        return ClockTime(hour, minute, Meridiem.AM if marker == "a" else Meridiem.PM), True
    if hour == 0 or hour > 12:  # a 24-hour display says which half of the day it is
        return ClockTime(hour % 12 or 12, minute, Meridiem.PM if hour > 12 else Meridiem.AM), True
    return ClockTime(hour, minute), False


def format_minute_of_day(minute_of_day: int) -> str:
    if not 0 <= minute_of_day < MINUTES_PER_DAY:
        raise ValueError(f"minute of day must be 0-1439, got {minute_of_day}")
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


@cache
def known_time_zones() -> frozenset[str]:
    """IANA names from the tz database. Only these may become a ZoneInfo: a name from a request
    must never reach the file system as a path."""
    return frozenset(available_timezones())


HALF_DAY = MINUTES_PER_HALF_DAY


def dial_distance(a: Any, b: Any) -> Any:
    """Minutes between two positions on a 12-hour dial (minutes after 12:00), the short way round.
    Works on plain numbers and, element by element, on numpy arrays."""
    difference = abs(a - b) % HALF_DAY
    return np.minimum(difference, HALF_DAY - difference)


def minutes_apart(hour_a: Any, minute_a: Any, hour_b: Any, minute_b: Any) -> Any:
    """Minutes between two times on a 12-hour dial, the short way round (11:59 and 12:00 are 1 apart)."""
    return dial_distance((hour_a % 12) * 60 + minute_a, (hour_b % 12) * 60 + minute_b)
