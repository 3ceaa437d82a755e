"""The per-minute schedule: which clips play during each minute of the day, and from where.

A clip's clock shows HH:MM during one stretch of its own time: from `shown_at` (its clock
shows HH:MM:00) for sixty seconds. Only that stretch may play during the minute HH:MM; outside
it the clock (when visible) would show another minute. So each clip offers a *usable window*,
and a minute is filled like this:

1. The *lead* clip is placed so that its clock runs with the wall clock: at HH:MM:SS the
   clip is at shown_at + SS. It plays for as much of its window as falls in the minute.
2. The time before and after it is filled with the other clips of the minute, in turn (each
   a piece of its own window), and when there are no others, with the lead clip again.
3. A minute with no clip of its own borrows the nearest earlier minute's plan and says so
   (`fallback`); with no clips at all, it is a card that shows the time.

Leads are chosen so that a film does not lead again within `no_repeat_minutes`, preferring
sure readings, and rotating among equals from day to day.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

MINUTE = 60.0
MINUTES_PER_DAY = 1440
# Pieces shorter than this are not worth a switch.
MIN_PIECE_SECONDS = 1.0


@dataclass(frozen=True)
class Clip:
    """A ready snippet as the schedule sees it. Times are seconds into the clip's own file."""

    snippet_id: int
    video_id: int
    minute_of_day: int  # 0-1439
    serves_both_halves: bool  # unknown AM/PM: also plays 12 hours later
    duration: float
    shown_at: float  # where its clock shows HH:MM:00 (may lie before 0 or after the end)
    confidence: float

    @property
    def window(self) -> tuple[float, float]:
        """The part of the clip that may play during its minute."""
        return max(0.0, self.shown_at), min(self.duration, self.shown_at + MINUTE)

    @property
    def usable_seconds(self) -> float:
        start, end = self.window
        return max(0.0, end - start)


@dataclass(frozen=True)
class Piece:
    """Play `clip` from `play_from` for `length` seconds, starting `at` seconds into the minute."""

    clip: Clip | None  # None: a card showing the time
    at: float
    play_from: float
    length: float


@dataclass(frozen=True)
class MinutePlan:
    minute_of_day: int
    pieces: tuple[Piece, ...]
    # The minute has no clip of its own; `served_minute` is the one whose clips play instead.
    fallback: bool
    served_minute: int | None
    # The clip placed so that its clock runs with the wall clock.
    lead: Clip | None = None


def clips_by_minute(clips: Iterable[Clip]) -> list[list[Clip]]:
    """For each minute of the day, the clips that may play then (unknown AM/PM serves both halves)."""
    minutes: list[list[Clip]] = [[] for _ in range(MINUTES_PER_DAY)]
    for clip in clips:
        if clip.usable_seconds < MIN_PIECE_SECONDS:
            continue
        minutes[clip.minute_of_day].append(clip)
        if clip.serves_both_halves:
            minutes[(clip.minute_of_day + MINUTES_PER_DAY // 2) % MINUTES_PER_DAY].append(clip)
    return minutes


def _order(candidates: list[Clip], *, day: int, recent_videos: set[int]) -> list[Clip]:
    """Fresh films first, then sure readings; equals rotate from day to day."""
    rotation = {clip.snippet_id: zlib.crc32(f"{day}:{clip.snippet_id}".encode()) for clip in candidates}
    return sorted(
        candidates,
        key=lambda clip: (clip.video_id in recent_videos, -round(clip.confidence, 1), rotation[clip.snippet_id]),
    )


def plan_minute(candidates: list[Clip], minute_of_day: int, *, day: int = 0,
                recent_videos: set[int] | None = None) -> MinutePlan:  # fmt: skip
    """Fill one minute with its clips (see the module's docstring). `candidates` may be empty."""
    if not candidates:
        return MinutePlan(minute_of_day, (Piece(None, 0.0, 0.0, MINUTE),), fallback=False, served_minute=None)
    ordered = _order(candidates, day=day, recent_videos=recent_videos or set())
    lead = ordered[0]
    window_start, window_end = lead.window
    lead_at = window_start - lead.shown_at  # >= 0: the lead's first usable second, on the wall clock
    lead_piece = Piece(lead, lead_at, window_start, min(window_end - window_start, MINUTE - lead_at))
    fillers = [*ordered[1:], lead]  # others first; the lead again when they run out

    before: list[Piece] = []
    gap_end = lead_at
    turn = 0
    while gap_end >= MIN_PIECE_SECONDS:  # fill backwards from the lead, with the ends of windows
        clip = fillers[turn % len(fillers)]
        turn += 1
        start, end = clip.window
        length = min(end - start, gap_end)
        before.insert(0, Piece(clip, gap_end - length, end - length, length))
        gap_end -= length
    if before and gap_end > 0:  # a sliver left at the very start: the first piece starts earlier in its clip
        first = before[0]
        before[0] = Piece(first.clip, 0.0, max(0.0, first.play_from - gap_end), first.length + gap_end)

    after: list[Piece] = []
    position = lead_at + lead_piece.length
    while MINUTE - position >= MIN_PIECE_SECONDS:
        clip = fillers[turn % len(fillers)]
        turn += 1
        start, end = clip.window
        length = min(end - start, MINUTE - position)
        after.append(Piece(clip, position, start, length))
        position += length
    pieces = [*before, lead_piece, *after]
    if MINUTE - position > 1e-6:  # a sliver at the end: the last piece plays on a little
        last = pieces[-1]
        pieces[-1] = Piece(last.clip, last.at, last.play_from, MINUTE - last.at)
    return MinutePlan(minute_of_day, tuple(pieces), fallback=False, served_minute=minute_of_day, lead=lead)


def plan_day(clips: Iterable[Clip], *, day: int, no_repeat_minutes: int = 30) -> list[MinutePlan]:
    """Plans for all 1440 minutes of one day."""
    by_minute = clips_by_minute(clips)
    plans: list[MinutePlan] = []
    recent: list[int] = []  # lead films of the last minutes, newest last
    for minute in range(MINUTES_PER_DAY):
        plan = plan_minute(
            by_minute[minute],
            minute,
            day=day,
            recent_videos=set(recent[-no_repeat_minutes:]) if no_repeat_minutes else set(),
        )
        if plan.lead is not None:
            recent.append(plan.lead.video_id)
        plans.append(plan)
    return _with_fallbacks(plans)


def _with_fallbacks(plans: list[MinutePlan]) -> list[MinutePlan]:
    """Minutes without clips borrow the nearest earlier covered minute (wrapping past midnight)."""
    covered = [plan.served_minute is not None for plan in plans]
    if not any(covered):
        return plans
    out = list(plans)
    for minute in range(MINUTES_PER_DAY):
        if covered[minute]:
            continue
        back = next(b for b in range(1, MINUTES_PER_DAY) if covered[(minute - b) % MINUTES_PER_DAY])
        source = plans[(minute - back) % MINUTES_PER_DAY]
        out[minute] = MinutePlan(minute, source.pieces, fallback=True, served_minute=source.minute_of_day,
                                 lead=source.lead)  # fmt: skip
    return out
