"""All reads of the catalog. Views, the API and tasks call these; none of them build queries of their own."""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Avg, Count, Exists, F, FloatField, Max, OuterRef, Q, QuerySet, Value
from pgvector import HalfVector
from pgvector.django import CosineDistance

from catalog.models import Concept, FrameTag, SceneEmbedding, Snippet, Video
from pipeline.clock_time import MINUTES_PER_DAY, MINUTES_PER_HALF_DAY, Meridiem
from pipeline.schedule import Clip, MinutePlan, plan_day
from pipeline.tagging import Segment, appearance_segments

if TYPE_CHECKING:  # open_clip and torch load only where search runs
    from pipeline.embedder import ClipEmbedder


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


def _serving_minutes(first: int, last: int, prefix: str = "") -> Q:
    """Snippets that may play at a minute from `first` to `last` (inclusive; wrapping past
    midnight): those placed there, plus those whose reading has no AM/PM, which sit in the
    morning slot and also play 12 hours later. `prefix` reaches the snippet from another model."""

    def placed(low: int, high: int) -> Q:
        return Q(**{f"{prefix}minute_of_day__gte": low, f"{prefix}minute_of_day__lte": high})

    def spans(low: int, high: int) -> Q:
        unknown = Q(**{f"{prefix}reading__meridiem": Meridiem.UNKNOWN.value})
        return placed(low, high) | (unknown & placed(low - MINUTES_PER_HALF_DAY, high - MINUTES_PER_HALF_DAY))

    if first <= last:
        return spans(first, last)
    return spans(first, MINUTES_PER_DAY - 1) | spans(0, last)


def snippet_list(*, minute_of_day: int | None = None, video_id: int | None = None) -> QuerySet[Snippet]:
    snippets = _ready_snippets()
    if minute_of_day is not None:
        snippets = snippets.filter(_serving_minutes(minute_of_day, minute_of_day))
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


# -- the schedule ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedPiece:
    """Play `snippet` (None: a card showing the time) from `play_from` for `length` seconds,
    starting `at` seconds into the minute."""

    snippet: Snippet | None
    at: float
    play_from: float
    length: float


@dataclass(frozen=True)
class ScheduledClip:
    """What plays during one wall-clock minute."""

    minute_of_day: int
    starts_at: datetime
    # The lead clip, whose clock runs with the wall clock.
    snippet: Snippet | None
    # True when this minute has no snippet of its own and borrows the nearest earlier one.
    fallback: bool
    served_minute: int | None
    # The lead clip's position at `starts_at`: its clock shows HH:MM:00 exactly then (0 for a fallback).
    offset_seconds: float
    pieces: tuple[PlannedPiece, ...] = ()


@dataclass
class _ScheduleState:
    version: tuple
    checked_at: float
    snippets: dict[int, Snippet]
    clips: list[Clip]
    days: dict[int, list[MinutePlan]] = field(default_factory=dict)


_schedule_lock = threading.Lock()
_schedule: _ScheduleState | None = None


def _snippets_version() -> tuple:
    """Changes whenever a ready snippet is added, changed or removed."""
    summary = _ready_snippets().aggregate(count=Count("id"), changed=Max("updated_at"), last=Max("id"))
    return (summary["count"], summary["changed"], summary["last"])


def _schedule_state() -> _ScheduleState:
    """The ready snippets as the schedule sees them, reloaded when they change (looked at no more
    often than every SCHEDULE_REFRESH_SECONDS, so that serving the clock costs no query)."""
    global _schedule
    with _schedule_lock:
        now = time.monotonic()
        state = _schedule
        if state is not None and now - state.checked_at < settings.SCHEDULE_REFRESH_SECONDS:
            return state
        version = _snippets_version()
        if state is not None and state.version == version:
            state.checked_at = now
            return state
        snippets = {snippet.pk: snippet for snippet in _ready_snippets().exclude(reading=None)}
        clips = [
            Clip(
                snippet_id=snippet.pk,
                video_id=snippet.video_id,
                minute_of_day=snippet.minute_of_day,
                serves_both_halves=snippet.reading.meridiem == Meridiem.UNKNOWN.value,
                duration=snippet.duration_seconds,
                shown_at=snippet.shown_at_offset or 0.0,
                confidence=snippet.reading.confidence,
            )
            for snippet in snippets.values()
        ]
        _schedule = _ScheduleState(version=version, checked_at=now, snippets=snippets, clips=clips)
        return _schedule


def schedule_state_version() -> tuple:
    """The version of the snippets the schedule was last built from (refreshed as _schedule_state says)."""
    return _schedule_state().version


def schedule_reset() -> None:
    """Forget the cached schedule (tests; and after bulk changes that should show at once)."""
    global _schedule
    with _schedule_lock:
        _schedule = None


def day_plans(day: int) -> tuple[list[MinutePlan], dict[int, Snippet], tuple]:
    """The 1440 minute plans of the day with this ordinal, the snippets they name, and the version."""
    state = _schedule_state()
    with _schedule_lock:
        if day not in state.days:
            if len(state.days) > 4:
                state.days.clear()
            state.days[day] = plan_day(state.clips, day=day, no_repeat_minutes=settings.SCHEDULE_NO_REPEAT_MINUTES)
        return state.days[day], state.snippets, state.version


def _scheduled(plan: MinutePlan, starts_at: datetime, snippets: dict[int, Snippet]) -> ScheduledClip:
    pieces = tuple(
        PlannedPiece(snippets[piece.clip.snippet_id] if piece.clip else None, piece.at, piece.play_from, piece.length)
        for piece in plan.pieces
    )
    lead = snippets[plan.lead.snippet_id] if plan.lead is not None else None
    return ScheduledClip(
        minute_of_day=plan.minute_of_day,
        starts_at=starts_at,
        snippet=lead,
        fallback=plan.fallback,
        served_minute=plan.served_minute,
        offset_seconds=0.0 if plan.fallback or plan.lead is None else plan.lead.shown_at,
        pieces=pieces,
    )


def now_schedule(*, at: datetime, tz: ZoneInfo, upcoming: int) -> list[ScheduledClip]:
    """The plan for the wall-clock minute containing `at` in `tz`, then the next `upcoming` minutes.

    Minutes are stepped in real time, so across a DST change the list follows the
    wall clock (01:59 is followed by 03:00 when clocks spring forward)."""
    # The minute starts on the local clock (zones with odd historical offsets don't start minutes
    # on a UTC minute); then step in UTC: adding to an aware local datetime does wall-clock
    # arithmetic and would walk into the hour that DST skips.
    minute_start = at.astimezone(tz).replace(second=0, microsecond=0).astimezone(UTC)
    schedule = []
    for step in range(upcoming + 1):
        starts_at = (minute_start + timedelta(minutes=step)).astimezone(tz)
        plans, snippets, _ = day_plans(starts_at.toordinal())
        schedule.append(_scheduled(plans[starts_at.hour * 60 + starts_at.minute], starts_at, snippets))
    return schedule


def minute_plan(*, minute_of_day: int, day: int) -> ScheduledClip:
    """The plan of one minute of one day (for previews, the HLS stream and exports); starts_at is that day's."""
    plans, snippets, _ = day_plans(day)
    starts_at = datetime.fromordinal(day).replace(hour=minute_of_day // 60, minute=minute_of_day % 60, tzinfo=UTC)
    return _scheduled(plans[minute_of_day], starts_at, snippets)


def nearest_scenes(*, vector: list[float], model_name: str, limit: int = 10) -> QuerySet[SceneEmbedding]:
    """The scenes closest in cosine distance to `vector`, using the HNSW index."""
    return (
        SceneEmbedding.objects.filter(model_name=model_name)
        .annotate(distance=CosineDistance("embedding", HalfVector(vector)))
        .order_by("distance")[:limit]
    )


class SearchUnavailable(RuntimeError):
    """No embedder to turn the query into a vector; the message says what to configure."""


def scene_embedder() -> ClipEmbedder:
    """The CLIP embedder named in settings, loaded once per process (EmbedderUnavailable if it can't be)."""
    from pipeline.embedder import load_embedder

    return load_embedder(settings.CLIP_MODEL, settings.CLIP_PRETRAINED, settings.CLIP_CHECKPOINT, settings.DEVICE)


def search_vector(*, text: str | None, image: object = None, frame: int | None = None) -> tuple[list[float], str]:
    """The query as one unit vector, and the model whose vectors it compares with: a stored frame's
    own vector, and/or the text and/or image embedded (several: their mean direction). A frame
    alone needs no model loaded."""
    import numpy as np

    from pipeline.embedder import EmbedderUnavailable

    parts = []
    model_name = ""
    if frame is not None:
        scene = SceneEmbedding.objects.filter(pk=frame).first()
        if scene is None:
            raise LookupError(f"no stored frame with id {frame}")
        parts.append(np.asarray(scene.vector, np.float32))
        model_name = scene.model_name
    if text is not None or image is not None:
        try:
            embedder = scene_embedder()
        except EmbedderUnavailable as error:
            raise SearchUnavailable(f"search by meaning is not available here: {error}") from error
        model_name = embedder.name
        if text is not None:
            parts.append(embedder.embed_texts([text])[0])
        if image is not None:
            parts.append(embedder.embed_images([image])[0])
    vector = np.mean(parts, axis=0)
    vector /= max(float(np.linalg.norm(vector)), 1e-12)
    return vector.tolist(), model_name


@dataclass(frozen=True)
class SceneFilters:
    minute_from: int | None = None  # with minute_to: snippets placed in this range (wrapping past midnight)
    minute_to: int | None = None
    meridiem: str | None = None  # "am" | "pm" | "unknown"
    video: int | None = None
    min_duration: float | None = None  # of the video, in seconds
    max_duration: float | None = None
    tag: str | None = None  # a concept the frame is tagged with

    @property
    def active(self) -> bool:
        return any(value is not None and value != "" for value in vars(self).values())

    def q(self) -> Q:
        condition = Q()
        if self.minute_from is not None and self.minute_to is not None:
            condition &= _serving_minutes(self.minute_from, self.minute_to, prefix="snippet__")
        if self.meridiem:
            condition &= Q(snippet__reading__meridiem=self.meridiem)
        if self.video is not None:
            condition &= Q(video_id=self.video)
        if self.min_duration is not None:
            condition &= Q(video__duration_seconds__gte=self.min_duration)
        if self.max_duration is not None:
            condition &= Q(video__duration_seconds__lte=self.max_duration)
        if self.tag:
            condition &= Q(Exists(FrameTag.objects.filter(scene=OuterRef("pk"), concept__name=self.tag)))
        return condition


@dataclass(frozen=True)
class SceneHit:
    scene: SceneEmbedding
    score: float  # cosine similarity, 1 for the same direction


def scene_search(*, vector: list[float], model_name: str, filters: SceneFilters | None = None, limit: int = 20,
                 offset: int = 0) -> list[SceneHit]:  # fmt: skip
    """Scenes nearest to `vector`, best first, one per shot of a video (near-identical frames of
    one shot would fill the page), paginated by `offset`. Filtered queries use pgvector's
    iterative index scan, so that a selective filter still fills the page when enough scenes match."""
    wanted = offset + limit
    fetch = wanted * 4 + 16
    filters = filters or SceneFilters()
    scenes = (
        SceneEmbedding.objects.filter(model_name=model_name)
        .filter(filters.q())
        .select_related("video", "snippet__reading", "snippet__video")
    )
    query = HalfVector(vector)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(settings.SEARCH_EF_SEARCH, min(1000, fetch))])
        found = list(scenes.annotate(distance=CosineDistance("embedding", query)).order_by("distance")[:fetch])
    if len(found) < fetch and filters.active:
        # The index scan gave up (hnsw.max_scan_tuples) before finding a page of matches: so few
        # rows match that comparing the query with each of them is cheap. Ordering by an
        # expression keeps the planner off the HNSW index, so this is exact.
        exact = CosineDistance("embedding", query) + Value(0.0, output_field=FloatField())
        found = list(scenes.annotate(distance=exact).order_by("distance")[:fetch])
    # relaxed_order may return neighbours slightly out of order; put them back in order.
    found.sort(key=lambda scene: scene.distance)
    hits: list[SceneHit] = []
    seen: set[tuple[int, int]] = set()
    for scene in found:
        shot = (scene.video_id, bisect.bisect_right(scene.video.shot_boundaries or [], scene.second))
        if shot in seen:
            continue
        seen.add(shot)
        hits.append(SceneHit(scene, round(1.0 - float(scene.distance), 6)))
    return hits[offset:wanted]


# -- tags ------------------------------------------------------------------------------------


def concept_names() -> list[str]:
    """The active tag vocabulary, by name."""
    return list(Concept.objects.filter(active=True).order_by("name").values_list("name", flat=True))


@dataclass(frozen=True)
class VideoTagCount:
    name: str
    frames: int  # frames of the video tagged with it
    share: float  # of the video's embedded frames
    mean_score: float


def video_top_tags(*, video_id: int, limit: int = 10) -> list[VideoTagCount]:
    """The concepts tagged on most of a video's frames (ties: the surer first)."""
    total = SceneEmbedding.objects.filter(video_id=video_id).values("second").distinct().count()
    rows = (
        FrameTag.objects.filter(scene__video_id=video_id, concept__active=True)
        .values("concept__name")
        .annotate(frames=Count("scene__second", distinct=True), mean=Avg("score"))
        .order_by("-frames", "-mean", "concept__name")[:limit]
    )
    return [
        VideoTagCount(
            row["concept__name"], row["frames"], round(row["frames"] / max(total, 1), 4), round(row["mean"], 4)
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Appearance:
    tag: str
    first_second: float | None
    total_seconds: float
    segments: tuple[Segment, ...]


def tag_appearances(*, video_id: int, tag: str) -> Appearance:
    """When a concept appears in one video: its first appearance, how long in all, and the stretches."""
    seconds = sorted(set(SceneEmbedding.objects.filter(video_id=video_id).values_list("second", flat=True)))
    present = set(
        FrameTag.objects.filter(scene__video_id=video_id, concept__name=tag).values_list("scene__second", flat=True)
    )
    segments = appearance_segments(seconds, [second in present for second in seconds], gap=settings.EMBED_EVERY_SECONDS)
    return Appearance(
        tag=tag,
        first_second=segments[0].start if segments else None,
        total_seconds=round(sum(segment.end - segment.start for segment in segments), 3),
        segments=tuple(segments),
    )
