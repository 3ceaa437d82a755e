"""Server-rendered pages. Thin: gather from selectors, render a template."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.decorators import user_passes_test
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from catalog import selectors, services
from pipeline import hls
from pipeline.clock_time import known_time_zones

logger = logging.getLogger(__name__)


def live(request: HttpRequest) -> HttpResponse:
    """The live clock. The page is a shell; static/js/live.js plays the schedule from /api/now."""
    context = {
        "video_count": selectors.video_list().count(),
        "demo_on_empty": settings.DEMO_ON_EMPTY,
        "time_zones": _time_zones(),
    }
    return render(request, "catalog/live.html", context)


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Curators only: anyone else is sent to the log-in page, which says why."""
    return user_passes_test(lambda user: user.is_active and user.is_staff)(view)


def search(request: HttpRequest) -> HttpResponse:
    """The search page; static/js/search.js asks /api/search."""
    return render(request, "catalog/search.html", {"concepts": selectors.concept_names()})


@lru_cache(maxsize=1)
def _time_zones() -> list[str]:
    """The zones offered in the live page's picker: places, not aliases."""
    return sorted(zone for zone in known_time_zones() if "/" in zone and not zone.startswith(("Etc/", "SystemV/")))


def _zone(request: HttpRequest) -> ZoneInfo | None:
    name = request.GET.get("tz") or settings.TIME_ZONE
    return ZoneInfo(name) if name in known_time_zones() else None


_BAD_ZONE = "tz: not a known IANA time zone (e.g. Europe/Paris)"
_prerendering: set[tuple[int, str]] = set()


@never_cache
def live_playlist(request: HttpRequest) -> HttpResponse:
    """/live.m3u8: the clock as a live HLS stream (see pipeline/hls.py), for VLC, ffplay and TVs."""
    tz = _zone(request)
    if tz is None:
        return HttpResponseBadRequest(_BAD_ZONE)
    window = hls.live_window(timezone.now())
    for unix_minute in sorted({segment.unix_minute for segment in window}):
        services.live_segments_render(unix_minute=unix_minute, tz=tz)
    _prerender(window[-1].unix_minute + 1, tz)
    query = urlencode({"tz": str(tz)})
    uri = {segment: f"/live/{segment.unix_minute}/{segment.index}.ts?{query}" for segment in window}
    return HttpResponse(hls.live_playlist(window, uri), content_type="application/vnd.apple.mpegurl")


def _prerender(unix_minute: int, tz: ZoneInfo) -> None:
    """Render the next minute in the background, so that no player waits for it."""
    key = (unix_minute, str(tz))
    if key in _prerendering or services.live_segments_ready(unix_minute=unix_minute, tz=tz):
        return
    _prerendering.add(key)

    def render() -> None:
        try:
            services.live_segments_render(unix_minute=unix_minute, tz=tz)
        except Exception:
            logger.exception("could not render the live minute %s for %s", unix_minute, tz)
        finally:
            _prerendering.discard(key)
            connection.close()

    threading.Thread(target=render, daemon=True).start()


@never_cache
def live_segment(request: HttpRequest, unix_minute: int, index: int) -> HttpResponse:
    tz = _zone(request)
    if tz is None:
        return HttpResponseBadRequest(_BAD_ZONE)
    now_minute = int(timezone.now().timestamp()) // 60
    # Only minutes near now: a request must not make the server render any minute it names.
    if not 0 <= index < hls.SEGMENTS_PER_MINUTE or abs(unix_minute - now_minute) > settings.LIVE_KEEP_MINUTES:
        raise Http404("no such live segment")
    path = services.live_segments_render(unix_minute=unix_minute, tz=tz) / f"{unix_minute}-{index:02d}.ts"
    if not path.exists():
        raise Http404("no such live segment")
    return FileResponse(path.open("rb"), content_type="video/mp2t")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers; 503 with the reason otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return JsonResponse({"ok": False, "database": str(error).splitlines()[0]}, status=503)
    return JsonResponse({"ok": True, "database": "ok"})


def minutes(request: HttpRequest) -> HttpResponse:
    raise Http404("not yet")


def minute(request: HttpRequest, hhmm: str) -> HttpResponse:
    raise Http404("not yet")


def video(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404("not yet")


@staff_required
def review(request: HttpRequest) -> HttpResponse:
    raise Http404("not yet")


@staff_required
def review_export(request: HttpRequest) -> HttpResponse:
    raise Http404("not yet")


@staff_required
def ingest(request: HttpRequest) -> HttpResponse:
    raise Http404("not yet")
