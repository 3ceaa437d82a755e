"""All reads of the catalog. Views, the API and tasks call these; none of them build queries of their own."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Avg,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Exp, Least, Ln
from django.utils import timezone
from pgvector import HalfVector
from pgvector.django import CosineDistance

from catalog import ml
from catalog.caches import ScheduleCache, ShotBoundaryCache
from catalog.models import (
    ClockSighting,
    Concept,
    FrameTag,
    SceneEmbedding,
    Snippet,
    Source,
    TimeReading,
    Video,
    WorkerHeartbeat,
)
from pipeline.clock_time import MINUTES_PER_DAY, MINUTES_PER_HALF_DAY, Meridiem
from pipeline.schedule.plan import Clip, MinutePlan, plan_day
from pipeline.search.tagging import SUREST_TAG, Segment, appearance_segments

if TYPE_CHECKING:  # open_clip and torch load only where search runs
    import numpy as np

    from pipeline.search.concepts import QueryMatch
    from pipeline.search.embedder import ClipEmbedder


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
    # A clip's video is loaded with each clip: not its yt-dlp info, progress or shot list (a long
    # film's thousand boundaries, parsed once per clip, made a day's schedule take seconds).
    return (
        Snippet.objects.filter(status=Snippet.Status.READY)
        .select_related("video", "reading")
        .defer("video__info", "video__progress", "video__shot_boundaries")
    )


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


# -- health ----------------------------------------------------------------------------------


def health() -> dict[str, dict]:
    """What /healthz reports: can we reach the database and the task broker, how many worker
    processes of each queue were seen lately (each saves a heartbeat every few seconds), which
    clock detector the scan uses, and which embedder serves search."""
    from django_q.brokers import get_broker

    def first_line(error: Exception) -> str:
        return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]

    report: dict[str, dict] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = {"ok": True}
    except Exception as error:
        report["database"] = {"ok": False, "error": first_line(error)}
    kind = "redis" if settings.REDIS_URL else "database"
    try:
        report["broker"] = {"ok": bool(get_broker(settings.Q_CPU_QUEUE).ping()), "kind": kind}
    except Exception as error:
        report["broker"] = {"ok": False, "kind": kind, "error": first_line(error)}
    queues = {queue: {"workers": 0, "hosts": []} for queue in (settings.Q_CPU_QUEUE, settings.Q_GPU_QUEUE)}
    if report["database"]["ok"]:
        since = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS * 3)
        for beat in WorkerHeartbeat.objects.filter(seen_at__gte=since).order_by("queue", "host", "pid"):
            queue = queues.setdefault(beat.queue, {"workers": 0, "hosts": []})
            queue["workers"] += 1
            if beat.host not in queue["hosts"]:
                queue["hosts"].append(beat.host)
    report["queues"] = queues
    # Which clock detector a scan takes, and why (from the files alone: this process never loads torch).
    report["detector"] = ml.planned_detector().as_dict()
    # Which embedder serves search and tags (CLIP or the offline one), why, and what the other would add.
    report["search"] = ml.search_choice().as_dict()
    return report


def task_failure_counts() -> list[dict[str, object]]:
    """Failed tasks per task function: in the last day, the last week, and all that are kept."""
    from django_q.models import Failure

    now = timezone.now()
    rows = (
        Failure.objects.values("func")
        .annotate(
            day=Count("id", filter=Q(stopped__gte=now - timedelta(days=1))),
            week=Count("id", filter=Q(stopped__gte=now - timedelta(days=7))),
            total=Count("id"),
        )
        .order_by("-day", "-week", "-total", "func")
    )
    return list(rows)


# -- review ----------------------------------------------------------------------------------


def _needs_review() -> QuerySet[ClockSighting]:
    """Sightings a curator should look at: an unverified reading that is uncertain or not sure
    enough, or no reading at all because its frames disagreed. Reviewed ones drop out."""
    doubtful = TimeReading.objects.filter(sighting=OuterRef("pk"), verified_at__isnull=True).filter(
        Q(status=TimeReading.Status.UNCERTAIN) | Q(confidence__lt=settings.REVIEW_BELOW_CONFIDENCE)
    )
    conflicting = ~Q(Exists(TimeReading.objects.filter(sighting=OuterRef("pk")))) & ~Q(rejection="")
    return ClockSighting.objects.filter(reviewed_at__isnull=True, video__file__gt="").filter(
        Q(Exists(doubtful)) | conflicting
    )


@dataclass(frozen=True)
class ReviewItem:
    sighting: ClockSighting
    reading: TimeReading | None  # the proposal; None when the frames disagreed and nothing was read
    crop_second: float  # the moment the crop shows, and the one a typed time describes


def review_crop_second(sighting: ClockSighting, reading: TimeReading | None) -> float:
    """Where a curator looks at the clock: half a minute after the reading says HH:MM:00 (so the
    clock shows HH:MM there if the reading is right), kept inside the sighting."""
    if reading is None:
        return (sighting.start_seconds + sighting.end_seconds) / 2
    return min(max(reading.shown_at_seconds + 30, sighting.start_seconds), sighting.end_seconds)


def review_queue(*, limit: int = 30) -> tuple[list[ReviewItem], int]:
    """The first `limit` sightings to review (frames that disagree first, then the least sure)
    and how many wait in all."""
    pending = _needs_review()
    total = pending.count()
    sightings = list(
        pending.select_related("video").prefetch_related("readings")
        .annotate(sureness=Max("readings__confidence"))
        .order_by(F("sureness").asc(nulls_first=True), "video_id", "start_seconds")[:limit]
    )  # fmt: skip
    items = []
    for sighting in sightings:
        reading = max(sighting.readings.all(), key=lambda r: r.confidence, default=None)
        items.append(ReviewItem(sighting, reading, review_crop_second(sighting, reading)))
    return items, total


def review_item(*, sighting_id: int) -> ReviewItem | None:
    """One sighting as the review page shows it (reviewed or not), or None if there is none."""
    sighting = ClockSighting.objects.select_related("video").prefetch_related("readings").filter(pk=sighting_id).first()
    if sighting is None or not sighting.video.file:
        return None
    readings = [r for r in sighting.readings.all() if r.status != TimeReading.Status.REJECTED] or list(
        sighting.readings.all()
    )
    reading = max(readings, key=lambda r: r.confidence, default=None)
    return ReviewItem(sighting, reading, review_crop_second(sighting, reading))


def reviewed_readings() -> QuerySet[TimeReading]:
    """Readings a curator typed or confirmed (not the ones said to be no clock): a labelled set."""
    return (
        TimeReading.objects.filter(verified_at__isnull=False, status=TimeReading.Status.ACCEPTED)
        .exclude(sighting__video__file="")
        .select_related("sighting__video")
        .order_by("sighting__video_id", "sighting__start_seconds")
    )


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


def _snippets_version() -> tuple:
    """Changes whenever a ready snippet is added, changed or removed."""
    summary = _ready_snippets().aggregate(count=Count("id"), changed=Max("updated_at"), last=Max("id"))
    return (summary["count"], summary["changed"], summary["last"])


def _schedule_snippets() -> tuple[dict[int, Snippet], list[Clip]]:
    """The ready snippets with a reading, by id, and the same as the schedule's planner sees them."""
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
    return snippets, clips


_schedule = ScheduleCache(version=_snippets_version, load=_schedule_snippets)


def schedule_state_version() -> tuple:
    """The version of the snippets the schedule was last built from (see catalog.caches.ScheduleCache)."""
    return _schedule.state().version


def schedule_reset() -> None:
    """Forget the cached schedule (tests; and after bulk changes that should show at once)."""
    _schedule.reset()


def day_plans(day: int) -> tuple[list[MinutePlan], dict[int, Snippet], tuple]:
    """The 1440 minute plans of the day with this ordinal, the snippets they name, and the version."""
    return _schedule.day(
        day, lambda clips: plan_day(clips, day=day, no_repeat_minutes=settings.SCHEDULE_NO_REPEAT_MINUTES)
    )


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
    """The scenes closest in cosine distance to `vector`, using the HNSW index of its model's column."""
    column = SceneEmbedding.vector_column(len(vector))
    return (
        SceneEmbedding.objects.filter(model_name=model_name)
        .annotate(distance=CosineDistance(column, HalfVector(vector)))
        .order_by("distance")[:limit]
    )


class SearchUnavailable(RuntimeError):
    """No embedder to turn the query into a vector; the message says what to configure."""


@lru_cache(maxsize=2048)
def _text_vector(embedder: ClipEmbedder, text: str) -> np.ndarray:
    """A text query's vector, kept per process: popular searches are asked again and again, and
    embedding text costs tens of milliseconds of CPU."""
    vector = embedder.embed_texts([text])[0]
    vector.setflags(write=False)  # shared between calls: nobody may change it
    return vector


@dataclass(frozen=True)
class SceneQuery:
    """A search, ready to run: the model whose scenes it searches; a unit vector to rank them by
    (a frame, an image, or CLIP's text vector), and/or, offline, the concepts its words matched."""

    model_name: str
    vector: list[float] | None = None
    match: QueryMatch | None = None  # offline text: what the words matched

    @property
    def concept_terms(self) -> tuple[tuple[str, ...], ...]:
        return tuple(term.concepts for term in self.match.terms) if self.match else ()


def search_query(*, text: str | None, image: object = None, frame: int | None = None) -> SceneQuery:
    """The query: a stored frame's own vector, and/or the text and/or image embedded (several:
    their mean direction). A frame alone needs no model loaded. Offline (no CLIP), text is matched
    to the concept vocabulary instead of embedded, with no model loaded either: alone it ranks
    scenes by those concepts, with an image or frame it keeps only the scenes tagged with them."""
    import numpy as np

    from pipeline.search.embedder import EmbedderUnavailable

    parts = []
    model_name = ""
    match = None
    if frame is not None:
        scene = SceneEmbedding.objects.filter(pk=frame).first()
        if scene is None:
            raise LookupError(f"no stored frame with id {frame}")
        parts.append(np.asarray(scene.vector, np.float32))
        model_name = scene.model_name
    if text is not None or image is not None:
        choice = ml.search_choice()
        embedder = None
        if image is not None or choice.kind == "clip":
            try:
                embedder = ml.scene_embedder()
            except EmbedderUnavailable as error:
                raise SearchUnavailable(f"search by meaning is not available here: {error}") from error
        serving = embedder.name if embedder is not None else choice.model
        if frame is not None and serving != model_name:
            raise LookupError(f"frame {frame} was embedded by {model_name}, not by {serving}, which serves now")
        model_name = serving
        if text is not None and embedder is not None and embedder.kind == "clip":
            parts.append(_text_vector(embedder, text))
        elif text is not None:
            match = ml.concept_vocabulary().match(text, concept_names())
        if image is not None:
            parts.append(embedder.embed_images([image])[0])
    if not parts:
        return SceneQuery(model_name, None, match)
    vector = np.mean(parts, axis=0)
    vector /= max(float(np.linalg.norm(vector)), 1e-12)
    return SceneQuery(model_name, vector.tolist(), match)


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


def _video_boundaries(ids: set[int]) -> QuerySet:
    return Video.objects.filter(pk__in=ids).values_list("pk", "updated_at", "shot_boundaries")


_shot_boundaries = ShotBoundaryCache(load=_video_boundaries)


@dataclass(frozen=True)
class SceneHit:
    scene: SceneEmbedding
    score: float  # cosine similarity (1: the same direction); for concepts alone, their score 0-1


def _result_scenes(model_name: str, filters: SceneFilters) -> QuerySet[SceneEmbedding]:
    return (
        SceneEmbedding.objects.filter(model_name=model_name)
        .filter(filters.q())
        .select_related("video", "snippet__reading", "snippet__video")
        # A page of results needs neither the vectors nor the videos' yt-dlp info (kilobytes each).
        .defer("embedding", "imagenet_embedding", "video__info", "video__shot_boundaries", "snippet__video__info",
               "snippet__video__shot_boundaries")
    )  # fmt: skip


def _tagged_with_each(terms: tuple[tuple[str, ...], ...]) -> Q:
    """Scenes tagged with at least one concept of each term."""
    condition = Q()
    for names in terms:
        condition &= Q(Exists(FrameTag.objects.filter(scene=OuterRef("pk"), concept__name__in=names)))
    return condition


def _one_per_shot(found: list[SceneEmbedding], scores: list[float], offset: int, wanted: int) -> list[SceneHit]:
    """The best scene of each shot (near-identical frames of one shot would fill the page), in order."""
    boundaries = _shot_boundaries.get({(scene.video_id, scene.video.updated_at) for scene in found})
    hits: list[SceneHit] = []
    seen: set[tuple[int, int]] = set()
    for scene, score in zip(found, scores, strict=True):
        shot = (scene.video_id, bisect.bisect_right(boundaries.get(scene.video_id) or [], scene.second))
        if shot in seen:
            continue
        seen.add(shot)
        hits.append(SceneHit(scene, score))
    return hits[offset:wanted]


def scene_search(*, vector: list[float], model_name: str, filters: SceneFilters | None = None, limit: int = 20,
                 offset: int = 0, within: tuple[tuple[str, ...], ...] = ()) -> list[SceneHit]:  # fmt: skip
    """Scenes nearest to `vector`, best first, one per shot of a video, paginated by `offset`;
    with `within`, only scenes tagged with a concept of each of its terms. Filtered queries use
    pgvector's iterative index scan, so that a selective filter still fills the page when enough
    scenes match."""
    wanted = offset + limit
    fetch = wanted * 4 + 16
    filters = filters or SceneFilters()
    column = SceneEmbedding.vector_column(len(vector))
    scenes = _result_scenes(model_name, filters).filter(_tagged_with_each(within))
    query = HalfVector(vector)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(settings.SEARCH_EF_SEARCH, min(1000, fetch))])
        found = list(scenes.annotate(distance=CosineDistance(column, query)).order_by("distance")[:fetch])
    if len(found) < fetch and (filters.active or within):
        # The index scan gave up (hnsw.max_scan_tuples) before finding a page of matches: so few
        # rows match that comparing the query with each of them is cheap. Ordering by an
        # expression keeps the planner off the HNSW index, so this is exact.
        exact = CosineDistance(column, query) + Value(0.0, output_field=FloatField())
        found = list(scenes.annotate(distance=exact).order_by("distance")[:fetch])
    # relaxed_order may return neighbours slightly out of order; put them back in order.
    found.sort(key=lambda scene: scene.distance)
    return _one_per_shot(found, [round(1.0 - float(scene.distance), 6) for scene in found], offset, wanted)


def concept_search(*, terms: tuple[tuple[str, ...], ...], model_name: str, filters: SceneFilters | None = None,
                   limit: int = 20, offset: int = 0) -> list[SceneHit]:  # fmt: skip
    """Scenes ranked by how surely they show what a query's words matched (offline text search):
    each term scores a frame by the chance that any of its matched tags is right, 1 - the product
    of (1 - score) (a dog spread over several breeds, and seen by COCO too, adds up, yet stays
    below 1); a frame's score is the mean over the terms, so a frame that shows every term comes
    first. One per shot, best first, paginated by `offset`."""
    if not terms:
        return []
    wanted = offset + limit
    filters = filters or SceneFilters()
    every = {name for names in terms for name in names}
    # ln(1 - score) summed is the log of the chance that every matched tag is wrong
    # (pipeline.search.tagging.concept_relevance is the same in Python).
    none_right = Ln(Value(1.0) - Least(F("tags__score"), Value(SUREST_TAG)))
    per_term = [
        Value(1.0) - Exp(Coalesce(Sum(none_right, filter=Q(tags__concept__name__in=names)), 0.0)) for names in terms
    ]
    total = per_term[0]
    for part in per_term[1:]:
        total = total + part
    scenes = (
        _result_scenes(model_name, filters)
        .filter(pk__in=FrameTag.objects.filter(concept__name__in=every, scene__model_name=model_name).values("scene"))
        .annotate(relevance=ExpressionWrapper(total / len(terms), output_field=FloatField()))
        .order_by("-relevance", "video_id", "second")
    )
    found = list(scenes[: wanted * 4 + 16])
    return _one_per_shot(found, [round(float(scene.relevance), 6) for scene in found], offset, wanted)


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


# -- the video page ---------------------------------------------------------------------------

_TIMELINE_TAGS = 5  # rows of tags on the video page's timeline: more would crowd out the clocks


def _clock_label(seconds: float) -> str:
    """A position in a video as players show it: 0:42, 12:05, 1:02:03."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, whole = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{whole:02d}" if hours else f"{minutes}:{whole:02d}"


def _http_url(url: str) -> str:
    """The URL if it is a web address, else "": rows are created without the form validators, and a
    `javascript:` URL in a link would run when clicked."""
    return url if url.lower().startswith(("http://", "https://")) else ""


@dataclass(frozen=True)
class TimelineSighting:
    start: float
    end: float
    kind: str
    confidence: float
    rejection: str  # why no time was read, when none was


@dataclass(frozen=True)
class TimelineReading:
    id: int
    label: str  # "10:42 pm"; without am/pm when the clock can't tell
    meridiem: str
    confidence: float
    method: str  # how it was read, in words
    status: str
    at: float  # the video second at which the clock shows HH:MM:00
    at_label: str
    verified: bool


@dataclass(frozen=True)
class TimelineSnippet:
    id: int
    minute: str  # HH:MM, the minute of the day it plays at
    start: float
    end: float
    start_label: str
    status: str


@dataclass(frozen=True)
class TimelineTag:
    name: str
    share: float  # of the video's embedded frames
    frames: int
    first_second: float | None
    first_label: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class VideoTimeline:
    """One video and what was found along it, for the video page."""

    video: Video
    source_url: str  # the video's page on the web, "" when there is none (or it is not http)
    description: str
    duration: float  # seconds the timeline spans: the video's, or up to the last thing found
    scanned: bool  # False until the clock scan has run, so that "no clocks" can be told from "not looked"
    shots: tuple[float, ...]
    sightings: tuple[TimelineSighting, ...]
    readings: tuple[TimelineReading, ...]
    snippets: tuple[TimelineSnippet, ...]
    tags: tuple[TimelineTag, ...]

    @property
    def duration_label(self) -> str:
        return _clock_label(self.duration) if self.duration else ""

    def plot(self) -> dict[str, object]:
        """The timeline as plain data, for the page to embed as JSON (static/js/video.js draws it)."""
        return {
            "duration": self.duration,
            "scanned": self.scanned,
            "shots": list(self.shots),
            "sightings": [vars(sighting) for sighting in self.sightings],
            "readings": [vars(reading) for reading in self.readings],
            "snippets": [vars(snippet) for snippet in self.snippets],
            "tags": [
                {"name": tag.name, "share": tag.share, "segments": [[s.start, s.end] for s in tag.segments]}
                for tag in self.tags
            ],
        }


def _reading_label(hour: int, minute: int, meridiem: str) -> str:
    suffix = "" if meridiem == Meridiem.UNKNOWN.value else f" {meridiem}"
    return f"{hour}:{minute:02d}{suffix}"


def video_timeline(*, video_id: int) -> VideoTimeline | None:
    """The video page's data: the video, its shots, clock sightings, readings, snippets (not the
    hidden ones) and top tags with when they appear. None when there is no such video."""
    video = Video.objects.select_related("source").filter(pk=video_id).first()
    if video is None:
        return None
    found = list(video.sightings.prefetch_related("readings").order_by("start_seconds", "id"))
    sightings = tuple(
        TimelineSighting(s.start_seconds, s.end_seconds, s.kind, s.confidence, s.rejection) for s in found
    )
    readings = tuple(
        sorted(
            (
                TimelineReading(
                    id=r.pk,
                    label=_reading_label(r.hour, r.minute, r.meridiem),
                    meridiem=r.meridiem,
                    confidence=r.confidence,
                    method=r.get_method_display(),
                    status=r.status,
                    at=r.shown_at_seconds,
                    at_label=_clock_label(r.shown_at_seconds),
                    verified=r.is_verified,
                )
                for sighting in found
                for r in sighting.readings.all()
            ),
            key=lambda reading: (reading.at, reading.id),
        )
    )
    snippets = tuple(
        TimelineSnippet(s.pk, s.minute_label, s.start_seconds, s.end_seconds, _clock_label(s.start_seconds), s.status)
        for s in video.snippets.exclude(status=Snippet.Status.HIDDEN).order_by("start_seconds", "id")
    )
    tags = []
    for top in video_top_tags(video_id=video_id, limit=_TIMELINE_TAGS):
        appearance = tag_appearances(video_id=video_id, tag=top.name)
        first = appearance.first_second
        tags.append(TimelineTag(top.name, top.share, top.frames, first, "" if first is None else _clock_label(first),
                                appearance.segments))  # fmt: skip
    shots = tuple(float(second) for second in video.shot_boundaries or [] if isinstance(second, int | float))
    info = video.info if isinstance(video.info, dict) else {}
    description = info.get("description")
    # Without a known duration (not probed yet), the plot spans what was found.
    ends = [0.0, *shots, *(s.end for s in sightings), *(r.at for r in readings), *(s.end for s in snippets),
            *(segment.end for tag in tags for segment in tag.segments)]  # fmt: skip
    return VideoTimeline(
        video=video,
        source_url=_http_url(video.url),
        description=description if isinstance(description, str) else "",
        duration=float(video.duration_seconds or max(ends)),
        scanned="scan" in info or bool(found) or video.status == Video.Status.SCANNED,
        shots=shots,
        sightings=sightings,
        readings=readings,
        snippets=snippets,
        tags=tuple(tags),
    )


# -- the ingest page -------------------------------------------------------------------------


def source_list() -> QuerySet[Source]:
    """Sources, newest first, each with its videos counted: `video_count` in all and
    `<status>_count` per status, so a curator sees at a glance what came of each one."""
    per_status = {f"{status}_count": Count("videos", filter=Q(videos__status=status)) for status in Video.Status.values}
    return Source.objects.annotate(video_count=Count("videos"), **per_status).order_by("-created_at", "-id")


@dataclass(frozen=True)
class IngestOverview:
    sources: list[Source]
    videos: list[Video]
    video_total: int
    status: str | None
    is_empty: bool  # nothing was ever ingested: the page explains how to start
    statuses: tuple[str, ...] = tuple(Video.Status.values)


def ingest_overview(*, status: str | None = None, limit: int = 50) -> IngestOverview:
    """What the ingest page shows first: the newest sources and jobs, the jobs optionally of one
    status (an unknown status shows them all: it comes from a URL anyone can edit)."""
    status = status if status in Video.Status.values else None
    videos = video_list(status=status)
    sources = list(source_list()[:limit])
    listed = list(videos[:limit])
    total = videos.count() if len(listed) == limit else len(listed)
    is_empty = not sources and not listed and not Video.objects.exists()
    return IngestOverview(sources=sources, videos=listed, video_total=total, status=status, is_empty=is_empty)
