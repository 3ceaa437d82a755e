"""Server-rendered pages. Thin: gather from selectors, render a template. Pages only read: each
answers GET and HEAD (405 to anything else); every write goes through the API."""

from __future__ import annotations

import logging
import tempfile
import threading
import zipfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.decorators import user_passes_test
from django.db import connection
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from catalog import ml, selectors, services
from pipeline.clock_time import MINUTES_PER_DAY, format_minute_of_day, known_time_zones, parse_minute_of_day
from pipeline.schedule import hls
from pipeline.schedule.coverage import coverage, nearest_earlier_covered, neighbours

logger = logging.getLogger(__name__)


@require_safe
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


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    """The search page; static/js/search.js asks /api/search."""
    return render(request, "catalog/search.html",
                  {"concepts": selectors.concept_names(), "embedder": ml.search_choice()})  # fmt: skip


@lru_cache(maxsize=1)
def _time_zones() -> list[str]:
    """The zones offered in the live page's picker: places, not aliases."""
    return sorted(zone for zone in known_time_zones() if "/" in zone and not zone.startswith(("Etc/", "SystemV/")))


def _zone(request: HttpRequest) -> ZoneInfo | None:
    name = request.GET.get("tz") or settings.TIME_ZONE
    return ZoneInfo(name) if name in known_time_zones() else None


_BAD_ZONE = "tz: not a known IANA time zone (e.g. Europe/Paris)"
_prerendering: set[tuple[int, str]] = set()


@require_safe
@never_cache
def live_playlist(request: HttpRequest) -> HttpResponse:
    """/live.m3u8: the clock as a live HLS stream (see pipeline/schedule/hls.py), for VLC, ffplay and TVs."""
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


@require_safe
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


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The database, the task broker and the workers. 503 when the database or the broker fails
    (this process can't do its work); the workers of each queue are listed, and with
    `?require=workers` a queue without a live worker is a 503 too (for a probe that watches them)."""
    report = selectors.health()
    failing = not (report["database"]["ok"] and report["broker"]["ok"])
    if request.GET.get("require") == "workers":
        failing = failing or not all(queue["workers"] for queue in report["queues"].values())
    return JsonResponse({"ok": not failing, **report}, status=503 if failing else 200)


@require_safe
def minutes(request: HttpRequest) -> HttpResponse:
    """Browse by minute: a 24x60 heatmap (static/js/minutes.js draws it from /api/minutes/) and
    what the coverage looks like."""
    wanted = request.GET.get("minute", "")
    if wanted:  # the "go to a minute" form, when no script sends it on
        try:
            return redirect("minute", hhmm=format_minute_of_day(parse_minute_of_day(wanted)))
        except ValueError:
            pass
    counts = selectors.minute_counts()
    summary = coverage(counts)
    gap = summary.longest_gap
    context = {
        "summary": summary,
        "gap_start": format_minute_of_day(gap.start) if gap else None,
        "gap_end": format_minute_of_day((gap.start + gap.length - 1) % MINUTES_PER_DAY) if gap else None,
        "most_served": [(format_minute_of_day(minute), count) for minute, count in summary.most_served],
        "clip_count": selectors.snippet_list().count(),
        "video_count": selectors.video_list().count(),
    }
    return render(request, "catalog/minutes.html", context)


@require_safe
def minute(request: HttpRequest, hhmm: str) -> HttpResponse:
    """Every clip that can play at one minute, with its neighbours."""
    try:
        minute_of_day = parse_minute_of_day(hhmm)
    except ValueError as error:
        return render(request, "catalog/minute.html", {"error": str(error)}, status=404)
    label = format_minute_of_day(minute_of_day)
    if hhmm != label:  # one address per minute: 9:05 -> 09:05
        return redirect("minute", hhmm=label)
    counts = selectors.minute_counts()  # one query for the neighbours and the borrowed minute
    borrowed = nearest_earlier_covered(counts, minute_of_day)
    context = {
        "minute": label,
        "snippets": selectors.snippet_list(minute_of_day=minute_of_day),
        "previous": format_minute_of_day((minute_of_day - 1) % MINUTES_PER_DAY),
        "next": format_minute_of_day((minute_of_day + 1) % MINUTES_PER_DAY),
        "neighbours": [(format_minute_of_day(m), n) for m, n in neighbours(counts, minute_of_day)],
        "borrowed": format_minute_of_day(borrowed) if borrowed is not None else None,
    }
    return render(request, "catalog/minute.html", context)


@require_safe
def video(request: HttpRequest, pk: int) -> HttpResponse:
    """One video: its source and metadata, the player, and a timeline of what was found along it
    (static/js/video.js draws the timeline from the JSON the page embeds)."""
    timeline = selectors.video_timeline(video_id=pk)
    if timeline is None:
        raise Http404("no such video")
    context = {"timeline": timeline, "video": timeline.video, "plot": timeline.plot()}
    return render(request, "catalog/video.html", context)


@require_safe
@staff_required
def review(request: HttpRequest) -> HttpResponse:
    """The review queue: uncertain and conflicting readings, corrected with the keyboard (static/js/review.js)."""
    items, total = selectors.review_queue(limit=30)
    context = {"items": items, "total": total, "reviewed": selectors.reviewed_readings().count()}
    return render(request, "catalog/review.html", context)


@require_safe
@staff_required
def review_image(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """A review picture of one sighting (made on first request, then kept)."""
    item = selectors.review_item(sighting_id=pk)
    if item is None or name not in {"crop", "start", "middle", "end"}:
        raise Http404("no such review picture")
    with _review_images_lock:  # four pictures of one sighting are asked for at once: decode once
        try:
            paths = services.review_images(sighting=item.sighting, crop_second=item.crop_second)
        except Exception as error:  # a missing or unreadable source: say so in the picture's place
            logger.warning("review pictures of sighting %s: %s", pk, error)
            raise Http404(f"the video of this clock can't be read: {error}") from error
    return FileResponse(paths[name].open("rb"), content_type="image/jpeg")


_review_images_lock = threading.Lock()


@require_safe
@staff_required
def review_export(request: HttpRequest) -> HttpResponse:
    """The corrections as a zip in eval_reader's format (images + labels.csv), to train the next reader."""
    with tempfile.TemporaryDirectory(prefix="clockweb-export-") as folder:
        labelled = Path(folder) / "reviewed"
        services.corrections_export(out=labelled)
        archive = Path(folder) / "reviewed.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(labelled.iterdir()):
                zipped.write(path, f"reviewed/{path.name}")
        data = archive.read_bytes()
    response = HttpResponse(data, content_type="application/zip")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="clockweb-reviewed-{stamp}.zip"'
    return response


@require_safe
@staff_required
def ingest(request: HttpRequest) -> HttpResponse:
    """The curator's ingest page: add sources, follow the jobs, retry failed ones. The first view
    is rendered here (it works without JavaScript); static/js/ingest.js posts to /api/ingest/ and
    keeps the lists live from /api/sources/ and /api/videos/."""
    overview = selectors.ingest_overview(status=request.GET.get("status"),
                                         limit=settings.REST_FRAMEWORK["PAGE_SIZE"])  # fmt: skip
    context = {
        "overview": overview,
        "search_count": settings.INGEST_SEARCH_COUNT,
        "max_items": settings.INGEST_MAX_ITEMS,
    }
    return render(request, "catalog/ingest.html", context)
