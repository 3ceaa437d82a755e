"""The read API. Thin views: validate parameters, call a selector, serialize."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

import numpy as np
from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from PIL import Image, UnidentifiedImageError
from rest_framework import generics, serializers, status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    parser_classes,
    permission_classes,
    renderer_classes,
    throttle_classes,
)
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from catalog import selectors, services, tasks
from catalog.models import ClockSighting, Concept, Video
from catalog.serializers import (
    AppearanceQuerySerializer,
    AppearanceSerializer,
    ErrorSerializer,
    IngestRequestSerializer,
    IngestResponseSerializer,
    MinutesSerializer,
    NowQuerySerializer,
    NowSerializer,
    ReviewRequestSerializer,
    ReviewResultSerializer,
    SearchQuerySerializer,
    SearchResultSerializer,
    SnippetQuerySerializer,
    SnippetSerializer,
    SourceProgressSerializer,
    VideoQuerySerializer,
    VideoSerializer,
    VideoTagSerializer,
)
from pipeline.clock_time import format_minute_of_day
from pipeline.schedule.coverage import coverage


class _SettingsRateThrottle(UserRateThrottle):
    """Per user, or per client address when anonymous, at the rate the setting `rate_setting` names,
    counted in the shared cache. The rate is read at each request (DRF's own throttles read theirs
    once, at import, so a changed setting would go unseen)."""

    rate_setting = ""

    def get_rate(self) -> str:
        return getattr(settings, self.rate_setting)


class SearchRateThrottle(_SettingsRateThrottle):
    scope = "search"
    rate_setting = "SEARCH_RATE"


class IngestRateThrottle(_SettingsRateThrottle):
    scope = "ingest"
    rate_setting = "INGEST_RATE"


def _query(serializer_class: type, request: Request) -> dict:
    """Validated query parameters; a 400 with a message per bad parameter otherwise."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema(parameters=[VideoQuerySerializer])
class VideoList(generics.ListAPIView):
    serializer_class = VideoSerializer

    def get_queryset(self):  # noqa: ANN201
        return selectors.video_list(**_query(VideoQuerySerializer, self.request))


class VideoDetail(generics.RetrieveAPIView):
    serializer_class = VideoSerializer

    def get_queryset(self):  # noqa: ANN201
        return selectors.video_list()


@extend_schema(parameters=[SnippetQuerySerializer])
class SnippetList(generics.ListAPIView):
    serializer_class = SnippetSerializer

    def get_queryset(self):  # noqa: ANN201
        params = _query(SnippetQuerySerializer, self.request)
        return selectors.snippet_list(minute_of_day=params.get("minute"), video_id=params.get("video"))


@extend_schema(responses=MinutesSerializer)
@api_view(["GET"])
def minutes(request: Request) -> Response:
    """Coverage of the 1440 minutes: clips per minute, the longest run without one, the busiest."""
    counts = selectors.minute_counts()
    summary = coverage(counts)
    gap = summary.longest_gap
    return Response(
        {
            "counts": counts,
            "covered_minutes": summary.covered,
            "total_snippets": selectors.snippet_list().count(),
            "longest_gap": None if gap is None else {"start": format_minute_of_day(gap.start), "minutes": gap.length},
            "most_served": [{"minute": format_minute_of_day(m), "count": n} for m, n in summary.most_served],
        }
    )


@extend_schema(parameters=[NowQuerySerializer], responses=NowSerializer)
@api_view(["GET"])
# Public and read-only: no authentication or session work, one renderer; it is the hottest path.
@authentication_classes([])
@permission_classes([AllowAny])
@renderer_classes([JSONRenderer])
def now(request: Request) -> HttpResponse:
    # Every viewer of the live clock asks this, so it is answered from memory: the parameters
    # are validated once per distinct query, and the plan is rendered to JSON once per minute
    # (and again when the snippets change); only server_time is fresh in each answer.
    raw_query = request.META.get("QUERY_STRING", "")
    params = _now_params.get(raw_query)
    if params is None:
        params = _query(NowQuerySerializer, request)
        if "at" not in request.query_params:
            params = {**params, "at": None}  # "now", at each request
        _now_params.put(raw_query, params)
    tz, upcoming = params["tz"], params["upcoming"]
    at = params["at"] or timezone.now()
    minute_start = at.astimezone(tz).replace(second=0, microsecond=0)
    key = (selectors.schedule_state_version(), str(tz), minute_start.isoformat(), upcoming, request.get_host(),
           request.is_secure())  # fmt: skip
    body = _now_cache.get(key)
    if body is None:
        schedule = selectors.now_schedule(at=at, tz=tz, upcoming=upcoming)
        data = NowSerializer(
            {"server_time": at, "time_zone": str(tz), "current": schedule[0], "upcoming": schedule[1:]},
            context={"request": request},
        ).data
        data.pop("server_time")
        body = JSONRenderer().render(data)
        _now_cache.put(key, body)
    stamp = json.dumps(serializers.DateTimeField().to_representation(timezone.now())).encode()
    return HttpResponse(b'{"server_time":' + stamp + b"," + body[1:], content_type="application/json")


@extend_schema(
    parameters=[SearchQuerySerializer],
    request={
        "multipart/form-data": {"type": "object", "properties": {"image": {"type": "string", "format": "binary"}}}
    },
    responses={
        200: SearchResultSerializer,
        503: OpenApiResponse(ErrorSerializer, "Search is unavailable: no embedder could be loaded."),
    },
)
@api_view(["GET", "POST"])
@parser_classes([MultiPartParser])
@permission_classes([AllowAny])  # POST only carries the image; searching writes nothing
@throttle_classes([SearchRateThrottle])  # each search runs an embedder
def search(request: Request) -> Response:
    """Scenes by meaning: text (q), an uploaded image (POST, field `image`), a stored frame, or text
    and image together; with filters; one result per shot; paginated. With CLIP, text is open
    vocabulary; offline, its words are matched to the ImageNet and COCO concepts (`matched`), and
    words that match no concept get the closest concepts named (`suggestions`, `detail`)."""
    params = _query(SearchQuerySerializer, request)
    upload = request.FILES.get("image") if request.method == "POST" else None
    try:
        image = search_image(upload) if upload is not None else None
    except ValueError as error:
        return Response({"image": [str(error)]}, status=status.HTTP_400_BAD_REQUEST)
    if image is None and "q" not in params and "frame" not in params:
        return Response({"detail": "give q (text), frame (a scene id) or an image to search with"},
                        status=status.HTTP_400_BAD_REQUEST)  # fmt: skip
    try:
        query = selectors.search_query(text=params.get("q"), image=image, frame=params.get("frame"))
    except selectors.SearchUnavailable as error:
        return Response({"detail": str(error)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    except LookupError as error:
        return Response({"frame": [str(error)]}, status=status.HTTP_400_BAD_REQUEST)
    filters = selectors.SceneFilters(
        minute_from=params.get("minute_from"), minute_to=params.get("minute_to"), meridiem=params.get("meridiem"),
        video=params.get("video"), min_duration=params.get("min_duration"), max_duration=params.get("max_duration"),
        tag=params.get("tag"),
    )  # fmt: skip
    page, size = params["page"], params["page_size"]
    payload: dict[str, object] = {"model": query.model_name, "page": page, "page_size": size, "results": []}
    match = query.match
    if match is not None:
        payload["matched"] = [{"term": term.term, "concepts": list(term.concepts)} for term in match.terms]
        payload["unmatched"] = list(match.unmatched)
        if not match.matched:
            # Offline, only the concepts the models know can be searched: say which come closest.
            payload["suggestions"] = list(match.suggestions)
            payload["detail"] = (f"no concept matches {params['q']!r}; the closest concepts are: "
                                 f"{', '.join(match.suggestions)}")  # fmt: skip
            return Response(SearchResultSerializer(payload, context={"request": request}).data)
    offset = (page - 1) * size
    if query.vector is not None:
        payload["results"] = selectors.scene_search(vector=query.vector, model_name=query.model_name, filters=filters,
                                                    limit=size, offset=offset, within=query.concept_terms)  # fmt: skip
    else:
        payload["results"] = selectors.concept_search(terms=query.concept_terms, model_name=query.model_name,
                                                      filters=filters, limit=size, offset=offset)  # fmt: skip
    return Response(SearchResultSerializer(payload, context={"request": request}).data)


def search_image(upload: object) -> np.ndarray:
    """An uploaded image as RGB, or ValueError saying why it can't be one."""
    limit = settings.SEARCH_MAX_UPLOAD_MB * 1024 * 1024
    if upload.size > limit:
        raise ValueError(f"the image is {upload.size / 1024 / 1024:.1f} MB; at most {settings.SEARCH_MAX_UPLOAD_MB} MB")
    try:
        with Image.open(upload) as opened:
            if opened.width * opened.height > 40_000_000:
                raise ValueError(f"the image is {opened.width}x{opened.height} pixels; at most 40 megapixels")
            return np.asarray(opened.convert("RGB"))
    except Image.DecompressionBombError:  # Pillow itself refuses to open one this large
        raise ValueError("the image has far more than 40 megapixels; at most 40 megapixels") from None
    except UnidentifiedImageError:
        raise ValueError("not an image that can be read: not in a known image format (PNG, JPEG, WebP, ...)") from None
    except OSError as error:  # Pillow's words: "image file is truncated (12 bytes not processed)"
        raise ValueError(f"not an image that can be read: {error}") from None


@extend_schema(responses=VideoTagSerializer(many=True))
@api_view(["GET"])
def video_tags(request: Request, pk: int) -> Response:
    """The video's top tags, counted over its frames."""
    get_object_or_404(Video, pk=pk)
    return Response(VideoTagSerializer(selectors.video_top_tags(video_id=pk, limit=20), many=True).data)


@extend_schema(parameters=[AppearanceQuerySerializer], responses=AppearanceSerializer)
@api_view(["GET"])
def video_appearances(request: Request, pk: int) -> Response:
    """When does a concept appear in this video: first appearance, total time and stretches."""
    get_object_or_404(Video, pk=pk)
    tag = _query(AppearanceQuerySerializer, request)["tag"]
    if not Concept.objects.filter(name=tag).exists():
        return Response({"tag": [f"{tag!r} is not in the tag vocabulary"]}, status=status.HTTP_400_BAD_REQUEST)
    return Response(AppearanceSerializer(selectors.tag_appearances(video_id=pk, tag=tag)).data)


class _MinuteCache:
    """A small per-process cache of serialized /api/now answers; old minutes fall out first."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.entries: OrderedDict[object, object] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: object) -> object:
        with self.lock:
            return self.entries.get(key)

    def put(self, key: object, value: object) -> None:
        with self.lock:
            self.entries[key] = value
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_now_cache = _MinuteCache()
_now_params = _MinuteCache(size=256)


@extend_schema(request=IngestRequestSerializer, responses={202: IngestResponseSerializer})
@api_view(["POST"])
@permission_classes([IsAdminUser])
@throttle_classes([IngestRateThrottle])  # each source sends the workers to other sites
def ingest(request: Request) -> Response:
    """Staff only: record sources and queue their discovery and downloads for the workers."""
    body = IngestRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        sources = services.sources_create(
            locators=body.validated_data["sources"],
            from_web=True,
            search_count=body.validated_data.get("search"),
            max_items=body.validated_data.get("max_items"),
            created_by=request.user,
        )
    except services.IngestRefused as refused:
        return Response({"sources": refused.problems}, status=status.HTTP_400_BAD_REQUEST)
    for source in sources:
        tasks.queue_discovery(source)
    return Response(IngestResponseSerializer({"sources": sources}).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    request=None,
    responses={202: VideoSerializer, 409: OpenApiResponse(ErrorSerializer, "Only failed or stuck downloads retry.")},
)
@api_view(["POST"])
@permission_classes([IsAdminUser])
def retry_video(request: Request, pk: int) -> Response:
    """Staff only: queue a failed download again; a partial file resumes."""
    video = get_object_or_404(Video, pk=pk)
    if not services.video_can_retry(video):
        return Response(
            {"detail": f"only failed or stuck downloads can be retried; this one is {video.status}"}, status=409
        )
    video = services.video_retry(video=video)
    tasks.queue_download(video)
    return Response(VideoSerializer(selectors.video_list().get(pk=pk)).data, status=status.HTTP_202_ACCEPTED)


class SourceList(generics.ListAPIView):
    """Staff only: the sources curators added, newest first, with their videos counted by status
    (the ingest page polls it to show what came of each source, and why discovery failed)."""

    serializer_class = SourceProgressSerializer
    permission_classes = [IsAdminUser]

    def get_queryset(self):  # noqa: ANN201
        return selectors.source_list()


@extend_schema(request=ReviewRequestSerializer, responses=ReviewResultSerializer)
@api_view(["POST"])
@permission_classes([IsAdminUser])
def review_sighting(request: Request, pk: int) -> Response:
    """Staff only: confirm a sighting's proposed time, correct it (`time`), or say it is no clock.
    The reading is marked verified and the clip plays at its minute at once."""
    sighting = get_object_or_404(ClockSighting.objects.select_related("video"), pk=pk)
    body = ReviewRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    entry, says_meridiem = body.validated_data.get("time") or (None, False)
    try:
        outcome = services.sighting_review(sighting=sighting, user=request.user, entry=entry,
                                           entry_says_meridiem=says_meridiem,
                                           not_a_clock=body.validated_data["not_a_clock"])  # fmt: skip
    except services.ReviewRefused as refused:
        return Response({"time": [str(refused)]}, status=status.HTTP_400_BAD_REQUEST)
    snippet = outcome.snippet
    payload = {
        "sighting": sighting.pk,
        "reading": outcome.reading,
        "minute": snippet.minute_label if snippet is not None and outcome.reading is not None else None,
        "snippet": snippet.pk if snippet is not None else None,
        "warning": outcome.cut_error,
        "remaining": selectors.review_queue(limit=0)[1],
    }
    return Response(ReviewResultSerializer(payload).data)
