"""Security middleware Django 5.2 does not have: a Content-Security-Policy header, and a cap on
request bodies that holds before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

Middleware = Callable[[HttpRequest], HttpResponse]


def content_security_policy(get_response: Middleware) -> Middleware:
    """Set settings.SECURE_CSP on every response (settings.SECURE_CSP_API under /api/), unless the
    view set a policy of its own. Django 6.0 has this built in (SECURE_CSP, the same format)."""
    page_policy, api_policy = _policy(settings.SECURE_CSP), _policy(settings.SECURE_CSP_API)
    api_path = settings.SECURE_CSP_API_PATH

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = api_policy if request.path.startswith(api_path) else page_policy
        return response

    return middleware


def _policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def request_body_limit(get_response: Middleware) -> Middleware:
    """413 for a request whose declared body is larger than the app takes: file uploads (multipart)
    up to settings.UPLOAD_MAX_BODY_SIZE, anything else up to DATA_UPLOAD_MAX_MEMORY_SIZE. Django
    checks the latter only when `request.body` is read, and DRF's JSON parser reads the stream
    instead; checked here, the limit holds for every view, before a byte of the body is read.
    (Without a Content-Length, Django reads no body at all.)"""

    def middleware(request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        multipart = request.META.get("CONTENT_TYPE", "").lower().startswith("multipart/form-data")
        limit = settings.UPLOAD_MAX_BODY_SIZE if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            kind = "an upload" if multipart else "a request body"
            message = f"The request body is {_megabytes(length)}; {kind} may be at most {_megabytes(limit)}."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return get_response(request)

    return middleware


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"
