"""Server-rendered pages. Thin: gather from selectors, render a template."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from catalog import selectors


def live(request: HttpRequest) -> HttpResponse:
    """The live clock. The page is a shell; static/js/live.js plays the schedule from /api/now."""
    context = {
        "video_count": selectors.video_list().count(),
        "demo_on_empty": settings.DEMO_ON_EMPTY,
        "time_zones": _time_zones(),
    }
    return render(request, "catalog/live.html", context)


@lru_cache(maxsize=1)
def _time_zones() -> list[str]:
    return sorted(zone for zone in available_timezones() if "/" in zone and not zone.startswith(("Etc/", "SystemV/")))


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers; 503 with the reason otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return JsonResponse({"ok": False, "database": str(error).splitlines()[0]}, status=503)
    return JsonResponse({"ok": True, "database": "ok"})
