"""The database restarting while the workers run: tasks in flight wait for it and run again,
nothing is lost, and the workers keep serving their queues without being restarted."""

from __future__ import annotations

import shutil
import time

import pytest
from django.db import connections

from catalog import services, tasks
from catalog.models import Video, WorkerHeartbeat
from tests.faults.workers import Clusters, assert_catalog_whole, media_files, wait_for, wait_until_all_finished
from tests.ingest.server import MediaServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _running(prefix: str) -> WorkerHeartbeat | None:
    return WorkerHeartbeat.objects.filter(task__name__startswith=prefix).first()


def _downloading() -> bool:
    beat = _running("download video")
    if beat is None:
        return False
    video = Video.objects.get(pk=beat.task["args"][0])
    return video.status == Video.Status.DOWNLOADING and (video.progress.get("downloaded_bytes") or 0) > 0


def _scanning() -> bool:
    return _running("scan video") is not None and Video.objects.filter(status=Video.Status.SCANNING).exists()


def _cutting() -> bool:
    return _running("cut video") is not None and any(".part" in name for name in media_files())


def _embedding() -> bool:
    return _running("embed video") is not None


def test_tasks_in_flight_survive_database_restarts_and_nothing_is_lost(
    clusters: Clusters, clock_films, embedded_test_server, tmp_path
):
    if embedded_test_server is None:
        pytest.skip("restarts the embedded test server; DATABASE_URL names another server")
    site = tmp_path / "site"
    site.mkdir()
    server = MediaServer(site)
    videos, sources = [], {}
    for film in clock_films.values():
        shutil.copy(film, site / film.name)
        (source,) = services.sources_create(locators=[server.url(film.name)], from_web=True)
        (video,) = services.source_discover(source=source).new_videos
        tasks.queue_download(video)
        videos.append(video)
        sources[video.pk] = film
    clusters.env["INGEST_RATE_LIMIT_KB"] = "100"
    clusters.start_all()
    leaders = {queue: process.pid for queue, process in clusters.processes.items()}

    restarted = []
    for what, in_the_middle in [("a download", _downloading), ("a scan", _scanning), ("a cut", _cutting),
                                ("an embedding", _embedding)]:  # fmt: skip
        wait_for(in_the_middle, f"{what} in progress", clusters, timeout=180)
        connections.close_all()
        embedded_test_server.stop()  # a fast shutdown: every session is cut off mid-query
        time.sleep(2)
        embedded_test_server.start()
        restarted.append(what)

    wait_until_all_finished(videos, clusters, timeout=300)

    assert restarted == ["a download", "a scan", "a cut", "an embedding"]
    assert_catalog_whole(videos, sources)
    clusters.assert_alive()
    assert {queue: process.pid for queue, process in clusters.processes.items()} == leaders, "never restarted"
    server.close()
