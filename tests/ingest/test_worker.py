"""A real django-q2 cluster downloads queued videos; bad payloads fail cleanly and the worker keeps going."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from catalog import services, tasks
from catalog.models import Video
from tests.support import PROJECT_ROOT, project_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _database_url() -> str:
    params = connection.settings_dict
    return f"postgresql://{params['USER']}@/{params['NAME']}?host={params['HOST']}"


@pytest.fixture
def cluster(ingest_settings, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=PROJECT_ROOT,
        env=project_env(
            DATABASE_URL=_database_url(),
            CLOCKWEB_VAR_DIR=str(tmp_path / "var"),
            MEDIA_ROOT=str(settings.MEDIA_ROOT),
            INGEST_ALLOW_LOOPBACK="1",
            INGEST_SLEEP_REQUESTS="0",
            INGEST_RETRIES="0",
            INGEST_ARCHIVE=str(tmp_path / "archive.txt"),
            INGEST_WORK_DIR=str(tmp_path / "work"),
            Q_WORKERS="1",
            SECRET_KEY=settings.SECRET_KEY,  # tasks are signed with it
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def _queue(url: str) -> Video:
    (source,) = services.sources_create(locators=[url], from_web=True)
    (video,) = services.source_discover(source=source).new_videos
    tasks.queue_download(video)
    return video


def _wait_until_settled(videos: list[Video], cluster: subprocess.Popen, timeout: float = 90) -> list[Video]:
    deadline = time.monotonic() + timeout
    pending = {Video.Status.PENDING, Video.Status.DOWNLOADING, Video.Status.SCANNING}
    while time.monotonic() < deadline:
        fresh = [Video.objects.get(pk=v.pk) for v in videos]
        if all(v.status not in pending for v in fresh):
            return fresh
        assert cluster.poll() is None, f"the cluster died:\n{cluster.stdout.read()}"
        time.sleep(0.5)
    cluster.send_signal(signal.SIGTERM)
    output = cluster.communicate(timeout=30)[0]
    raise AssertionError(f"not settled in {timeout} s: {[(v.pk, v.status) for v in fresh]}\n{output}")


def test_the_worker_fails_bad_downloads_cleanly_and_keeps_working(cluster, media_server):
    corrupt = _queue(media_server.url("corrupt.mp4"))
    html = _queue(media_server.url("audio.mp4"))
    good = _queue(media_server.url("clip.mp4"))

    corrupt, html, good = _wait_until_settled([corrupt, html, good], cluster)

    assert corrupt.status == Video.Status.FAILED and corrupt.error.startswith("not a video")
    assert html.status == Video.Status.FAILED and "no video stream" in html.error
    assert good.sha256 and good.status in {Video.Status.DOWNLOADED, Video.Status.SCANNED}
    stored = sorted(p.relative_to(settings.MEDIA_ROOT) for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())
    assert stored == [Path(good.file.name)], "no partial or stray files from the failures"

    later = _queue(media_server.url("other.mp4"))
    (later,) = _wait_until_settled([later], cluster)
    assert later.sha256 and later.status in {Video.Status.DOWNLOADED, Video.Status.SCANNED}
    assert cluster.poll() is None
