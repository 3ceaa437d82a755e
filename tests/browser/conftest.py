"""Browser tests: Debian's Chromium driven by Playwright, against the app served from this process."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from werkzeug.serving import make_server
from whitenoise import WhiteNoise

from clockweb.media import with_media

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def site(settings) -> Iterator[str]:
    """The whole app (pages, API, static and media files with Range requests) on a loopback port,
    in a thread of this process, so that it sees the test's database and media."""
    application = with_media(WSGIHandler(), Path(settings.MEDIA_ROOT), settings.MEDIA_URL)
    application = WhiteNoise(application)
    application.add_files(str(Path(settings.BASE_DIR) / "static"), prefix=settings.STATIC_URL)
    Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
    # Request threads close their connections when done, so the test database can be dropped after.
    database = connections.settings["default"]
    kept_age = database.get("CONN_MAX_AGE", 0)
    database["CONN_MAX_AGE"] = 0
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    database["CONN_MAX_AGE"] = kept_age


@pytest.fixture
def browser(monkeypatch) -> Iterator[object]:
    # Playwright's sync API keeps an event loop in this thread; the test's own database calls
    # (setup, teardown) are plain synchronous code all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"]
        )
        yield launched
        launched.close()
