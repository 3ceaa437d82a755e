"""What a crash leaves behind — tasks taken by workers that died, their locks, half-written files —
is recovered when workers start (and while they run), and never the work of a worker still alive."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.models import OrmQ

from catalog import services, tasks, workers
from catalog.models import Source, Video, WorkerHeartbeat
from tests.faults.workers import Clusters, assert_catalog_whole, media_files, wait_until_all_finished
from tests.support import PROJECT_ROOT

HOST = socket.gethostname()


def _dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def _taken(task_id: str, *, by_pid: int | None, host: str = HOST, seen_ago: float = 30) -> OrmQ:
    """Make a queued task look taken by a worker (then killed): its row locked for Q_RETRY, and,
    with `by_pid`, that worker's heartbeat saying it runs the task."""
    row = next(row for row in OrmQ.objects.all() if row.task_id() == task_id)
    OrmQ.objects.filter(pk=row.pk).update(lock=timezone.now() + timedelta(seconds=600))
    if by_pid is not None:
        now = timezone.now()
        WorkerHeartbeat.objects.create(
            queue=row.key, host=host, pid=by_pid, started_at=now - timedelta(minutes=5),
            seen_at=now - timedelta(seconds=seen_ago),
            task={"id": task_id, "name": row.name(), "func": row.func(), "args": list(row.args()),
                  "kwargs": {}, "ack_id": row.pk},
        )  # fmt: skip
    return row


def _locked(row: OrmQ) -> bool:
    return OrmQ.objects.filter(pk=row.pk, lock__gt=timezone.now()).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_work_a_crash_left_behind_is_taken_up_when_the_workers_start(clusters: Clusters, clock_films, tmp_path):
    source = Source.objects.create(kind=Source.Kind.LOCAL, locator=str(tmp_path))
    scanned, cut, *_ = [services.local_file_import(source=source, path=film) for film in clock_films.values()]
    # Before the crash: one film was being scanned, the other cut, by worker processes now dead; a
    # third task had been taken ahead by the dead cluster's pusher, and no worker had started it.
    # django-q2 would hand the three out again only in ten minutes (Q_RETRY).
    Video.objects.filter(pk=scanned.pk).update(status=Video.Status.SCANNING)
    scan_task = tasks.queue_scan(scanned)
    services.video_scan(video=cut)
    cut_task = tasks.queue_cut(cut)
    idle_film = Video.objects.exclude(pk__in=[scanned.pk, cut.pk]).get()
    ahead_task = tasks.queue_scan(idle_film)
    _taken(scan_task, by_pid=_dead_pid())
    _taken(cut_task, by_pid=_dead_pid())
    ahead = _taken(ahead_task, by_pid=None)
    # What the killed cut and the killed move of a download left in the media.
    leftovers = [f"snippets/{cut.pk}/999.part.mp4", f"thumbnails/{cut.pk}/999.jpg", f"frames/{cut.pk}/.500.jpg.part",
                 f"videos/ab/.{'ab' * 32}.mp4.4242.part"]  # fmt: skip
    for name in leftovers:
        path = Path(settings.MEDIA_ROOT) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    old = time.time() - 3600
    os.utime(Path(settings.MEDIA_ROOT) / leftovers[-1], (old, old))

    clusters.start_all()

    wait_until_all_finished([scanned, cut, idle_film], clusters, timeout=180)
    assert not _locked(ahead)
    assert_catalog_whole([scanned, cut, idle_film], ran_here={cut.pk: {"scan_video"}})
    assert not set(leftovers) & media_files()
    assert WorkerHeartbeat.objects.filter(host=HOST).count() == 2, "the dead workers are forgotten; two live"


def test_a_process_start_is_known_to_the_clock_tick():
    # A cluster's start decides which locked tasks a dead cluster took before it: a second off
    # (psutil's create_time, from Linux's boot time in whole seconds), and a task taken just
    # before the start looks like the new cluster's own.
    before = datetime.now(UTC)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        started = workers.process_started_at(psutil.Process(child.pid))
    finally:
        child.kill()
        child.wait()
    assert before - timedelta(seconds=0.02) <= started <= datetime.now(UTC)


@pytest.mark.django_db
def test_a_live_workers_task_is_never_handed_out_again():
    video = Video.objects.create(extractor="generic", external_id="x", url="https://example.org/x")
    here = _taken(tasks.queue_cut(video), by_pid=os.getpid(), seen_ago=0)  # this process: alive
    there = _taken(tasks.queue_scan(video), by_pid=4242, host="another-machine", seen_ago=5)
    WorkerHeartbeat.objects.filter(pid=os.getpid()).update(started_at=timezone.now())

    for queue in (settings.Q_CPU_QUEUE, settings.Q_GPU_QUEUE):
        assert workers.workers_recover(queue=queue, host=HOST) == 0
        started = datetime.fromtimestamp(psutil.Process().create_time(), UTC) + timedelta(seconds=900)
        assert workers.tasks_of_dead_clusters_release(queue=queue, host=HOST, cluster=set(),
                                                    cluster_started_at=started) == 0  # fmt: skip
    assert _locked(here) and _locked(there)
    assert WorkerHeartbeat.objects.count() == 2

    # Not heard of for longer than Q_RETRY, the other machine's worker is dead: its task comes back.
    WorkerHeartbeat.objects.filter(host="another-machine").update(
        seen_at=timezone.now() - timedelta(seconds=settings.Q_RETRY + 1)
    )
    assert workers.workers_recover(queue=settings.Q_GPU_QUEUE, host=HOST) == 1
    assert not _locked(there) and _locked(here)


@pytest.mark.django_db
def test_a_pid_now_used_by_another_process_counts_as_a_dead_worker():
    video = Video.objects.create(extractor="generic", external_id="y", url="https://example.org/y")
    row = _taken(tasks.queue_cut(video), by_pid=os.getpid())
    # The heartbeat is from before this process started: a worker that had our pid then died.
    WorkerHeartbeat.objects.update(started_at=datetime.fromtimestamp(psutil.Process().create_time() - 60, UTC))

    assert workers.workers_recover(queue=settings.Q_CPU_QUEUE, host=HOST) == 1
    assert not _locked(row)
    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.django_db
def test_a_live_worker_stays_alive_when_the_wall_clock_is_stepped():
    # An NTP step or a resumed VM moves the wall clock, and with it the creation time psutil
    # reports: by the wall clock this process now looks an hour younger than its heartbeat.
    video = Video.objects.create(extractor="generic", external_id="w", url="https://example.org/w")
    row = _taken(tasks.queue_cut(video), by_pid=os.getpid())
    WorkerHeartbeat.objects.update(started_at=datetime.fromtimestamp(psutil.Process().create_time() - 3600, UTC),
                                   created_since_boot=workers.process_created_since_boot(os.getpid()))  # fmt: skip

    assert workers.workers_recover(queue=settings.Q_CPU_QUEUE, host=HOST) == 0
    assert _locked(row) and WorkerHeartbeat.objects.count() == 1

    # The same pid with another creation time since boot is another process: the worker died.
    WorkerHeartbeat.objects.update(created_since_boot=workers.process_created_since_boot(os.getpid()) - 60)
    assert workers.workers_recover(queue=settings.Q_CPU_QUEUE, host=HOST) == 1
    assert not _locked(row)


@pytest.mark.django_db
def test_a_task_that_keeps_killing_its_worker_is_given_up_with_a_reason():
    video = Video.objects.create(extractor="generic", external_id="z", url="https://example.org/z",
                                 status=Video.Status.SCANNING)  # fmt: skip
    task_id = tasks.queue_scan(video)
    for crash in range(1, settings.Q_CLUSTER["max_attempts"] + 1):
        row = _taken(task_id, by_pid=_dead_pid())
        workers.workers_recover(queue=settings.Q_GPU_QUEUE, host=HOST)
        if crash < settings.Q_CLUSTER["max_attempts"]:
            assert not _locked(row), f"crash {crash}: tried again"

    video.refresh_from_db()
    assert not OrmQ.objects.filter(pk=row.pk).exists(), "taken off the queue"
    assert video.status == Video.Status.FAILED
    assert video.error.startswith("scan stopped: the worker died 3 times while running it")


@pytest.mark.django_db
def test_locks_of_a_process_killed_while_holding_them_are_free_at_once(settings, clock_films, tmp_path):
    settings.Q_TIMEOUT = 10  # how long a stage waits for the lock before it gives up (VideoBusy)
    source = Source.objects.create(kind=Source.Kind.LOCAL, locator=str(tmp_path))
    video = services.local_file_import(source=source, path=clock_films["morning"])
    params = connection.settings_dict
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, psycopg\n"
         f"db = psycopg.connect(host={params['HOST']!r}, user={params['USER']!r}, dbname={params['NAME']!r})\n"
         f"db.execute('SELECT pg_advisory_lock(7003, {video.pk})')\n"  # the video's work lock
         "print('locked', flush=True)\ntime.sleep(600)\n"],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "locked"
    half_cut = Path(settings.MEDIA_ROOT) / f"snippets/{video.pk}/7.part.mp4"
    half_cut.parent.mkdir(parents=True)
    half_cut.write_bytes(b"half a clip")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()

    # The lock went with the killed process's session: the cut runs (nothing scanned, nothing to cut).
    assert services.video_cut(video=video) == []
    assert not half_cut.exists(), "the cut's leftovers are swept before it runs"


@pytest.mark.django_db
def test_a_live_render_killed_midway_is_rendered_again_and_its_leftovers_pruned(settings):
    settings.LIVE_SIZE = (160, 90)
    tz = ZoneInfo("UTC")
    minute = int(time.time() // 60)
    folder = services.live_segments_render(unix_minute=minute - 1, tz=tz)
    # A render of this minute killed midway, and one of a minute long past: a partial segment in
    # the staging folder, the lock file (its flock went with the process), no .done marker.
    for unix_minute in (minute, minute - settings.LIVE_KEEP_MINUTES - 5):
        staging = folder / f".{unix_minute}.part"
        staging.mkdir()
        (staging / f"{unix_minute}-00.ts").write_bytes(b"\x47" * 1000)
        (folder / f".{unix_minute}.lock").touch()

    assert services.live_segments_render(unix_minute=minute, tz=tz) == folder

    assert (folder / f".{minute}.done").exists()
    segments = sorted(path.name for path in folder.glob(f"{minute}-*.ts"))
    assert segments == [f"{minute}-{n:02d}.ts" for n in range(10)]
    assert all((folder / name).stat().st_size > 1000 for name in segments), "whole segments, not the partial one"
    assert not [path.name for path in folder.iterdir() if path.name.endswith(".part")], "no staging left"
    assert not (folder / f".{minute - settings.LIVE_KEEP_MINUTES - 5}.lock").exists()
