"""Server-rendered pages. Thin: gather from selectors, render a template."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from catalog import selectors


def home(request: HttpRequest) -> HttpResponse:
    counts = selectors.minute_counts()
    context = {
        "covered_minutes": sum(1 for count in counts if count),
        "video_count": selectors.video_list().count(),
    }
    return render(request, "catalog/home.html", context)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers; 503 with the reason otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        return JsonResponse({"ok": False, "database": str(error).splitlines()[0]}, status=503)
    return JsonResponse({"ok": True, "database": "ok"})
