"""The read API. Thin views: validate parameters, call a selector, serialize."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import IsAdminUser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services, tasks
from catalog.models import Video
from catalog.serializers import (
    IngestRequestSerializer,
    IngestResponseSerializer,
    MinutesSerializer,
    NowQuerySerializer,
    NowSerializer,
    SnippetQuerySerializer,
    SnippetSerializer,
    VideoQuerySerializer,
    VideoSerializer,
)


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
    counts = selectors.minute_counts()
    return Response(
        {
            "counts": counts,
            "covered_minutes": sum(1 for count in counts if count),
            "total_snippets": selectors.snippet_list().count(),
        }
    )


@extend_schema(parameters=[NowQuerySerializer], responses=NowSerializer)
@api_view(["GET"])
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


@extend_schema(request=None, responses={202: VideoSerializer})
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
