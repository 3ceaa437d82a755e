"""A worker SIGKILLed in the middle of each stage, again and again: every video still finishes
exactly once, with no duplicate snippets, embeddings or files, and no orphan files.

Each test runs a real CPU and a real GPU cluster on three films and kills, during its stage, the
worker process running the first film's task, then the second's at another moment, then the
whole cluster of the third (every process of it at once) and starts it again. django-q2's own
retry timer is set far beyond the test: each killed task comes back because the workers notice
the dead process (catalog.workers.workers_recover) or, after a restart, the dead cluster."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from catalog import services, tasks
from catalog.models import Snippet, Source, Video
from tests.faults.workers import Clusters, assert_catalog_whole, media_files, running, wait_for, wait_until_all_finished
from tests.ingest.server import MediaServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@dataclass(frozen=True)
class Moment:
    """When, inside a stage, to kill: `reached(video, since)` with `since` the first moment the
    stage's task was seen running."""

    name: str
    reached: Callable[[Video, float], bool]


def _progress(video: Video) -> dict:
    video.refresh_from_db(fields=["status", "progress"])
    return video.progress if video.status == Video.Status.DOWNLOADING else {}


def _bytes_in(video: Video, _: float) -> bool:
    return (_progress(video).get("downloaded_bytes") or 0) > 0


def _half_in(video: Video, _: float) -> bool:
    progress = _progress(video)
    return (progress.get("downloaded_bytes") or 0) * 2 >= (progress.get("total_bytes") or 1) > 1


def _scanning(video: Video, _: float) -> bool:
    video.refresh_from_db(fields=["status"])
    return video.status == Video.Status.SCANNING


def _scanning_a_while(video: Video, since: float) -> bool:
    return _scanning(video, since) and time.monotonic() - since > 1.5


def _clip_being_written(video: Video, _: float) -> bool:
    return any(name.startswith(f"snippets/{video.pk}/") and ".part" in name for name in media_files())


def _some_clips_done(video: Video, _: float) -> bool:
    return Snippet.objects.filter(video=video).exists()


def _started(video: Video, _: float) -> bool:
    return True


def _thumbnails_written(video: Video, _: float) -> bool:
    return any(name.startswith(f"frames/{video.pk}/") for name in media_files())


# Per stage: its task, its queue, and the three trials (moment, what is killed).
TRIALS = {
    "download": ("download video", settings.Q_CPU_QUEUE,
                 [(Moment("first bytes in", _bytes_in), "worker"), (Moment("half the file in", _half_in), "worker"),
                  (Moment("first bytes in", _bytes_in), "cluster")]),
    "scan": ("scan video", settings.Q_GPU_QUEUE,
             [(Moment("scan started", _scanning), "worker"), (Moment("scanning 1.5 s", _scanning_a_while), "worker"),
              (Moment("scan started", _scanning), "cluster")]),
    "cut": ("cut video", settings.Q_CPU_QUEUE,
            [(Moment("a clip half-written", _clip_being_written), "worker"),
             (Moment("some clips done", _some_clips_done), "worker"),
             (Moment("a clip half-written", _clip_being_written), "cluster")]),
    "embed": ("embed video", settings.Q_GPU_QUEUE,
              [(Moment("embedding started", _started), "worker"),
               (Moment("thumbnails being written", _thumbnails_written), "worker"),
               (Moment("embedding started", _started), "cluster")]),
}  # fmt: skip


def _queue_films(stage: str, clock_films: dict[str, Path], tmp_path: Path) -> tuple[list[Video], dict[int, Path]]:
    if stage == "download":
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
        return videos, sources
    source = Source.objects.create(kind=Source.Kind.LOCAL, locator=str(tmp_path))
    videos = [services.local_file_import(source=source, path=film) for film in clock_films.values()]
    for video in videos:
        tasks.queue_scan(video)
    return videos, {video.pk: film for video, film in zip(videos, clock_films.values(), strict=True)}


@pytest.mark.parametrize("stage", list(TRIALS))
def test_a_worker_killed_in_the_middle_of_a_stage_loses_nothing_and_leaves_nothing(
    stage, clusters: Clusters, clock_films, tmp_path
):
    what, queue, trials = TRIALS[stage]
    if stage == "download":
        clusters.env["INGEST_RATE_LIMIT_KB"] = "100"  # a few seconds a film: time to be killed in
    videos, sources = _queue_films(stage, clock_films, tmp_path)
    clusters.start_all()
    began = time.monotonic()

    killed = []
    for video, (moment, victim) in zip(videos, trials, strict=True):
        task_name = f"{what} {video.pk}"

        def moment_came(video: Video = video, task_name: str = task_name, moment: Moment = moment,
                        first_seen: list[float] = []) -> int | None:  # noqa: B006 - one list per trial  # fmt: skip
            pid = running(task_name)
            if pid is None:
                return None
            first_seen[:] = first_seen or [time.monotonic()]
            return pid if moment.reached(video, first_seen[0]) else None

        pid = wait_for(moment_came, f"{task_name}: {moment.name}", clusters)
        if victim == "worker":
            clusters.kill_worker(pid)
        else:
            clusters.kill_cluster(queue)
            clusters.start(queue)
        killed.append((task_name, moment.name, victim))
        print(f"{time.monotonic() - began:.1f} s: killed the {victim} running {task_name} ({moment.name})")

    wait_until_all_finished(videos, clusters)
    print(f"{time.monotonic() - began:.1f} s: all finished")

    assert len(killed) == 3
    assert_catalog_whole(videos, sources)
    clusters.assert_alive()


def test_with_redis_as_broker_a_killed_workers_task_is_queued_again(redis_broker, clusters: Clusters, clock_films,
                                                                    tmp_path):  # fmt: skip
    """Redis has no acknowledgement: django-q2 alone would lose a task whose worker was killed."""
    videos, sources = _queue_films("scan", clock_films, tmp_path)
    clusters.start_all()
    _, _, trials = TRIALS["scan"]
    for video, (moment, _) in zip(videos[:2], trials[:2], strict=True):

        def moment_came(video: Video = video, moment: Moment = moment, first_seen: list[float] = []) -> int | None:  # noqa: B006
            pid = running(f"scan video {video.pk}")
            first_seen[:] = first_seen or ([time.monotonic()] if pid else [])
            return pid if pid and moment.reached(video, first_seen[0]) else None

        clusters.kill_worker(wait_for(moment_came, f"scan video {video.pk}: {moment.name}", clusters))

    wait_until_all_finished(videos, clusters)
    assert_catalog_whole(videos, sources)
