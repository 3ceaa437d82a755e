"""All reads of the catalog. Views, the API and tasks call these; none of them build queries of their own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Q, QuerySet
from pgvector import HalfVector
from pgvector.django import CosineDistance

from catalog.models import SceneEmbedding, Snippet, Video
from pipeline.clock_time import MINUTES_PER_DAY, MINUTES_PER_HALF_DAY, Meridiem


def video_list(*, status: str | None = None, source: int | None = None) -> QuerySet[Video]:
    videos = (
        Video.objects.select_related("source").annotate(snippet_count=Count("snippets")).order_by("-created_at", "-id")
    )
    if status:
        videos = videos.filter(status=status)
    if source is not None:
        videos = videos.filter(source_id=source)
    return videos


def _ready_snippets() -> QuerySet[Snippet]:
    return Snippet.objects.filter(status=Snippet.Status.READY).select_related("video", "reading")


def _serving_minute(minute_of_day: int) -> Q:
    """Snippets that may play at this minute: those placed there, plus, in the afternoon,
    those whose reading has no AM/PM and so also serve the minute 12 hours earlier."""
    placed_here = Q(minute_of_day=minute_of_day)
    if minute_of_day < MINUTES_PER_HALF_DAY:
        return placed_here
    return placed_here | Q(minute_of_day=minute_of_day - MINUTES_PER_HALF_DAY, reading__meridiem=Meridiem.UNKNOWN.value)


def snippet_list(*, minute_of_day: int | None = None, video_id: int | None = None) -> QuerySet[Snippet]:
    snippets = _ready_snippets()
    if minute_of_day is not None:
        snippets = snippets.filter(_serving_minute(minute_of_day))
    if video_id is not None:
        snippets = snippets.filter(video_id=video_id)
    return snippets.order_by(F("reading__confidence").desc(nulls_last=True), "id")


def minute_counts() -> list[int]:
    """How many ready snippets can play at each of the 1440 minutes of the day."""
    counts = [0] * MINUTES_PER_DAY
    rows = (
        _ready_snippets()
        .values("minute_of_day", "reading__meridiem")
        .annotate(n=Count("id"))
        .values_list("minute_of_day", "reading__meridiem", "n")
    )
    for minute_of_day, meridiem, n in rows:
        counts[minute_of_day] += n
        if meridiem == Meridiem.UNKNOWN.value and minute_of_day < MINUTES_PER_HALF_DAY:
            counts[minute_of_day + MINUTES_PER_HALF_DAY] += n
    return counts


def nearest_covered_minute(counts: list[int], minute_of_day: int) -> int | None:
    """This minute if it has snippets, else the nearest earlier one, wrapping past midnight."""
    for back in range(MINUTES_PER_DAY):
        candidate = (minute_of_day - back) % MINUTES_PER_DAY
        if counts[candidate]:
            return candidate
    return None


@dataclass(frozen=True)
class ScheduledClip:
    """What plays during one wall-clock minute."""

    minute_of_day: int
    starts_at: datetime
    snippet: Snippet | None
    # True when this minute has no snippet of its own and borrows the nearest earlier one.
    fallback: bool
    served_minute: int | None
    # The clip's position at `starts_at`: its clock shows HH:MM:00 exactly then.
    offset_seconds: float


def _pick(snippets: list[Snippet], day: int) -> Snippet:
    # Rotate through a minute's clips day by day, so the clock is not the same film every day.
    return snippets[day % len(snippets)]


def now_schedule(*, at: datetime, tz: ZoneInfo, upcoming: int) -> list[ScheduledClip]:
    """The clip for the wall-clock minute containing `at` in `tz`, then the next `upcoming` minutes.

    Minutes are stepped in real time, so across a DST change the list follows the
    wall clock (01:59 is followed by 03:00 when clocks spring forward)."""
    # The minute starts on the local clock (zones with odd historical offsets don't start minutes
    # on a UTC minute); then step in UTC: adding to an aware local datetime does wall-clock
    # arithmetic and would walk into the hour that DST skips.
    minute_start = at.astimezone(tz).replace(second=0, microsecond=0).astimezone(UTC)
    counts = minute_counts()
    schedule = []
    for step in range(upcoming + 1):
        starts_at = (minute_start + timedelta(minutes=step)).astimezone(tz)
        minute_of_day = starts_at.hour * 60 + starts_at.minute
        served = nearest_covered_minute(counts, minute_of_day)
        snippet = None
        offset = 0.0
        candidates = list(snippet_list(minute_of_day=served)) if served is not None else []
        if candidates:  # empty only if the clips changed between the two queries
            snippet = _pick(candidates, starts_at.toordinal())
            if served == minute_of_day and snippet.shown_at_offset is not None:
                offset = snippet.shown_at_offset
        else:
            served = None
        schedule.append(
            ScheduledClip(
                minute_of_day=minute_of_day,
                starts_at=starts_at,
                snippet=snippet,
                fallback=served is not None and served != minute_of_day,
                served_minute=served,
                offset_seconds=offset,
            )
        )
    return schedule


def nearest_scenes(*, vector: list[float], model_name: str, limit: int = 10) -> QuerySet[SceneEmbedding]:
    """The scenes closest in cosine distance to `vector`, using the HNSW index."""
    return (
        SceneEmbedding.objects.filter(model_name=model_name)
        .annotate(distance=CosineDistance("embedding", HalfVector(vector)))
        .order_by("distance")[:limit]
    )
