"""A real HTTP server on loopback for ingest tests, serving files the tests made with ffmpeg.

Werkzeug answers Range requests (send_file with conditional=True), which resuming needs.
Special paths misbehave on purpose: cut a download mid-file, redirect elsewhere, serve
a playlist feed, or stream without a Content-Length.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from werkzeug.serving import make_server
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response


@dataclass
class LoggedRequest:
    path: str
    range: str | None


@dataclass
class MediaServer:
    root: Path
    requests: list[LoggedRequest] = field(default_factory=list)
    # path -> which requests for it (1 = the first) get their connection cut half-way through
    cuts: dict[str, set[int]] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)
    # paths sent in chunks with no Content-Length, so the client learns the size only as it reads
    unsized: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def ranges_for(self, path: str) -> list[str | None]:
        return [r.range for r in self.requests if r.path == "/" + path.lstrip("/")]

    def _app(self, environ: dict, start_response):
        request = Request(environ)
        self.requests.append(LoggedRequest(request.path, request.headers.get("Range")))
        name = request.path.lstrip("/")
        if name in self.redirects:
            return Response(status=302, headers={"Location": self.redirects[name]})(environ, start_response)
        file = (self.root / name).resolve()
        if not file.is_file() or self.root.resolve() not in file.parents:
            return Response("not found", status=404)(environ, start_response)
        mimetype = self.content_types.get(name) or _guess(name)
        if len(self.ranges_for(name)) in self.cuts.get(name, set()):
            return self._cut_half_way(file, mimetype)(environ, start_response)
        if name in self.unsized:
            return self._without_length(file, mimetype)(environ, start_response)
        return send_file(file, environ, mimetype=mimetype, conditional=True, max_age=0)(environ, start_response)

    @staticmethod
    def _cut_half_way(file: Path, mimetype: str) -> Response:
        data = file.read_bytes()

        def body():
            yield data[: len(data) // 2]
            # Dropping the connection mid-body, as a flaky network would.
            raise ConnectionAbortedError("cut on purpose")

        return Response(body(), mimetype=mimetype, headers={"Content-Length": str(len(data)), "Accept-Ranges": "bytes"})

    @staticmethod
    def _without_length(file: Path, mimetype: str) -> Response:
        data = file.read_bytes()

        def body():
            for start in range(0, len(data), 64 * 1024):
                yield data[start : start + 64 * 1024]

        return Response(body(), mimetype=mimetype)


def _guess(name: str) -> str:
    if name.endswith(".mp4"):
        return "video/mp4"
    if name.endswith(".xml"):
        return "application/rss+xml"
    if name.endswith(".html"):
        return "text/html"
    return "application/octet-stream"


def rss_feed(server: MediaServer, files: list[str], title: str = "Clocks") -> str:
    items = "".join(
        f"<item><title>{name}</title><link>{server.url(name)}</link>"
        f'<enclosure url="{server.url(name)}" type="video/mp4" length="1"/><guid>{server.url(name)}</guid></item>'
        for name in files
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{items}</channel></rss>'
