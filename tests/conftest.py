"""Test-wide fixtures: one embedded PostgreSQL server (the same kind `make run` uses) per test session."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from werkzeug.serving import make_server
from whitenoise import WhiteNoise

from clockweb.embedded_postgres import EmbeddedPostgres
from clockweb.media import with_media

pytest_plugins = ["tests.ingest.fixtures"]


@pytest.fixture(scope="session")
def embedded_test_server() -> Iterator[EmbeddedPostgres | None]:
    """A fresh embedded server in a temporary directory; None when DATABASE_URL names a server."""
    if settings.EMBEDDED_PGDATA is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="clockweb-test-"))
    server = EmbeddedPostgres(root / "postgres")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix: None, embedded_test_server: EmbeddedPostgres | None
) -> None:
    # Point Django at the test server before the first connection opens. The connection
    # holds this very dict, so changing it in place is enough.
    if embedded_test_server is not None:
        settings.DATABASES["default"]["HOST"] = str(embedded_test_server.socket_dir)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _static_without_collectstatic(settings) -> None:
    # `manage.py serve` runs collectstatic and serves the hashed manifest (see test_serve);
    # in-process tests render templates from the source folders instead.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _tiny_clip(settings) -> None:
    """No test downloads CLIP weights: the embedder is a tiny random-init model (plumbing only)."""
    from pipeline.search.embedder import TINY_MODEL

    settings.CLIP_MODEL = TINY_MODEL
    settings.CLIP_PRETRAINED = None
    settings.CLIP_CHECKPOINT = None
    # Its day/night scores are noise: they must not decide anyone's AM/PM (tests that check the
    # decision set a threshold of their own).
    settings.MERIDIEM_ACCEPT_CONFIDENCE = 2.0


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings) -> None:
    """Tests search and ingest far faster than people do, and the counts live in the cache table,
    which browser tests commit to; tests/api/test_rate_limits.py sets the rates it tests."""
    settings.SEARCH_RATE = settings.INGEST_RATE = "100000/s"


@pytest.fixture(autouse=True)
def _fresh_schedule(settings) -> Iterator[None]:
    """Each test sees its own snippets: the schedule looks at the database on every request."""
    from catalog import selectors

    settings.SCHEDULE_REFRESH_SECONDS = 0
    selectors.schedule_reset()
    yield
    selectors.schedule_reset()


@pytest.fixture
def site(settings) -> Iterator[str]:
    """The whole app (pages, API, static and media files with Range requests) on a loopback port,
    in a thread of this process, so that it sees the test's database and media."""
    application = with_media(WSGIHandler(), Path(settings.MEDIA_ROOT), settings.MEDIA_URL)
    application = WhiteNoise(application)
    application.add_files(str(Path(settings.BASE_DIR) / "static"), prefix=settings.STATIC_URL)
    Path(settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)

    def closing_connections(environ: dict, start_response: object) -> object:
        # Each request runs in a thread of its own; its database connection must not outlive it
        # (a video request the browser abandons mid-stream never reaches Django's own close),
        # or the test database could not be dropped.
        try:
            return application(environ, start_response)
        finally:
            connections.close_all()

    server = make_server("127.0.0.1", 0, closing_connections, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis for the broker tests: the one on 127.0.0.1:6379 when it answers, else one
    started here (redis-server on a free port); the tests are skipped, saying why, only when
    neither can be had. Yields redis://host:port (tests pick their own database number)."""
    import subprocess
    import time

    import redis

    from tests.support import free_port

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()
        yield "redis://127.0.0.1:6379"
        return
    except redis.RedisError:
        pass
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no Redis answers on 127.0.0.1:6379 and redis-server is not installed to start one")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        for _ in range(100):
            try:
                redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1).ping()
                break
            except redis.RedisError:
                time.sleep(0.1)
        else:
            pytest.skip(f"redis-server started on port {port} but never answered")
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def no_network(monkeypatch) -> None:
    """No socket can connect in the test: what loads must load from disk."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("the network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
