"""Process-wide caches that catalog reads keep between requests, apart from the reads themselves
(selectors.py): what they hold, when it is stale, and the lock that lets gunicorn's threads share
it. The reads hand each cache the queries that fill it.

- ScheduleCache: the ready snippets as the schedule sees them, and the day plans built from them.
  Serving the live clock must cost no query, so it is reloaded only when the snippets change,
  and checked for that at most every SCHEDULE_REFRESH_SECONDS.
- ShotBoundaryCache: the shot boundaries of videos, for the scene search's one-result-per-shot. A
  long film has a thousand of them, and parsing them for every page of results cost more than
  the index search.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

from pipeline.schedule.plan import Clip, MinutePlan

# Day plans kept per snippet version: today, tomorrow, and a few days that previews asked for.
_DAYS_KEPT = 5


@dataclass
class ScheduleState:
    version: Hashable  # changes whenever a ready snippet is added, changed or removed
    checked_at: float  # time.monotonic() when the version was last compared
    snippets: dict[int, Any]  # ready snippets with a reading, by id
    clips: list[Clip]  # the same, as the schedule's planner sees them
    days: dict[int, list[MinutePlan]] = field(default_factory=dict)  # day ordinal -> 1440 minute plans


class ScheduleCache:
    """The snippets the schedule plays and the day plans made of them, rebuilt when `version()`
    changes; `load()` gives the snippets by id and their clips."""

    def __init__(self, *, version: Callable[[], Hashable],
                 load: Callable[[], tuple[dict[int, Any], list[Clip]]]) -> None:  # fmt: skip
        self._version = version
        self._load = load
        self._lock = threading.Lock()
        self._state: ScheduleState | None = None

    def state(self) -> ScheduleState:
        with self._lock:
            now = time.monotonic()
            state = self._state
            if state is not None and now - state.checked_at < settings.SCHEDULE_REFRESH_SECONDS:
                return state
            version = self._version()
            if state is not None and state.version == version:
                state.checked_at = now
                return state
            snippets, clips = self._load()
            self._state = ScheduleState(version=version, checked_at=now, snippets=snippets, clips=clips)
            return self._state

    def day(self, day: int, plan: Callable[[list[Clip]], list[MinutePlan]]) -> tuple[list[MinutePlan], dict, Hashable]:
        """The plans of the day with this ordinal (made by `plan` from the clips once per snippet
        version), the snippets they name, and that version."""
        state = self.state()
        with self._lock:
            if day not in state.days:
                if len(state.days) >= _DAYS_KEPT:
                    state.days.clear()
                state.days[day] = plan(state.clips)
            return state.days[day], state.snippets, state.version

    def reset(self) -> None:
        """Forget everything (tests; and after bulk changes that should show at once)."""
        with self._lock:
            self._state = None


class ShotBoundaryCache:
    """Shot boundaries by video, kept for the most recently used `kept` videos. Keyed by the
    video's updated_at too, so a rescan (which changes it) is never answered from a stale list.
    `load(ids)` gives (id, updated_at, boundaries) rows for videos not kept."""

    def __init__(self, *, load: Callable[[set[int]], Iterable[tuple[int, datetime, list | None]]],
                 kept: int = 4096) -> None:  # fmt: skip
        self._load = load
        self._kept = kept
        self._lock = threading.Lock()
        self._boundaries: OrderedDict[tuple[int, datetime], list[float]] = OrderedDict()

    def get(self, videos: set[tuple[int, datetime]]) -> dict[int, list[float]]:
        """The boundaries of these videos, (id, updated_at) each, by id."""
        found: dict[int, list[float]] = {}
        with self._lock:
            for key in videos:
                if key in self._boundaries:
                    self._boundaries.move_to_end(key)
                    found[key[0]] = self._boundaries[key]
        missing = {pk for pk, _ in videos if pk not in found}
        if missing:
            rows = list(self._load(missing))  # outside the lock: a query must not hold up other threads
            with self._lock:
                for pk, updated_at, cuts in rows:
                    found[pk] = cuts or []
                    self._boundaries[(pk, updated_at)] = found[pk]
                while len(self._boundaries) > self._kept:
                    self._boundaries.popitem(last=False)
        return found
