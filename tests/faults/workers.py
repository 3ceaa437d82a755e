"""Real django-q2 clusters (one per queue) against the test database, to kill and restart; and the
checks that a catalog came through faults whole: every video finished once, no duplicate rows,
no file without its row and no row without its file."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from django.conf import settings
from django.db import connection, connections
from django_q.brokers import get_broker
from django_q.models import Task

from catalog.models import ClockSighting, SceneEmbedding, Snippet, TimeReading, Video, WorkerHeartbeat
from pipeline.search.embedder import TINY_MODEL
from tests.support import PROJECT_ROOT, project_env

QUEUES = (settings.Q_CPU_QUEUE, settings.Q_GPU_QUEUE)
STAGE_TASKS = ("download_video", "scan_video", "cut_video", "embed_video")


def database_url() -> str:
    params = connection.settings_dict
    return f"postgresql://{params['USER']}@/{params['NAME']}?host={params['HOST']}"


@dataclass
class Clusters:
    """One `manage.py qcluster` per queue, each the leader of its own process group."""

    tmp_path: Path
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)

    def start(self, queue: str) -> subprocess.Popen:
        self.starts[queue] = self.starts.get(queue, 0) + 1
        log = (self.tmp_path / f"{queue}-{self.starts[queue]}.log").open("w")
        self.processes[queue] = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=PROJECT_ROOT,
            env=project_env(**self.base_env(), Q_CLUSTER_NAME=queue, **self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.processes[queue]

    def base_env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": database_url(),
            "CLOCKWEB_VAR_DIR": str(self.tmp_path / "var"),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "INGEST_ALLOW_LOOPBACK": "1",
            "INGEST_SLEEP_REQUESTS": "0",
            "INGEST_RETRIES": "0",
            "INGEST_MIN_FREE_MB": "0",
            "INGEST_ARCHIVE": str(settings.INGEST_ARCHIVE),
            "INGEST_WORK_DIR": str(settings.INGEST_WORK_DIR),
            "Q_WORKERS": "1",
            "Q_GPU_WORKERS": "1",
            # Far longer than any test: a task comes back because a worker saw its worker die, not
            # because django-q2's retry timer ran out.
            "Q_TIMEOUT": "300",
            "Q_RETRY": "600",
            "WORKER_HEARTBEAT_SECONDS": "1",
            "CLIP_MODEL": TINY_MODEL,
            "CLIP_PRETRAINED": "",
            "CLOCKWEB_DEVICE": "cpu",
            "FFMPEG_GPU": "0",
            "EMBED_EVERY_SECONDS": "0.5",
            "SECRET_KEY": settings.SECRET_KEY,  # tasks are signed with it
        }

    def start_all(self) -> None:
        for queue in QUEUES:
            self.start(queue)

    def kill_cluster(self, queue: str) -> None:
        """SIGKILL every process of the cluster at once, as a machine losing power would."""
        process = self.processes[queue]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        psutil.wait_procs(_group(process.pid), timeout=10)

    def kill_worker(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)

    def assert_alive(self) -> None:
        for queue, process in self.processes.items():
            assert process.poll() is None, f"the {queue} cluster died:\n{self.log(queue)}"

    def log(self, queue: str) -> str:
        return (self.tmp_path / f"{queue}-{self.starts[queue]}.log").read_text(errors="replace")[-6000:]

    def logs(self) -> str:
        return "\n".join(f"--- {queue}:\n{self.log(queue)}" for queue in self.processes)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            if _group(process.pid):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        connections.close_all()


def _group(pgid: int) -> list[psutil.Process]:
    members = []
    for process in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


def running(task_name: str) -> int | None:
    """The pid of the worker process running the task named so, from its heartbeat row."""
    beat = WorkerHeartbeat.objects.filter(task__name=task_name).order_by("-seen_at").first()
    return beat.pid if beat is not None else None


def wait_for(condition: Callable[[], object], what: str, clusters: Clusters, timeout: float = 120) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        clusters.assert_alive()
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}\n{clusters.logs()}")


def video_finished(video: Video) -> bool:
    video.refresh_from_db()
    if video.status != Video.Status.SCANNED:
        return False
    accepted = TimeReading.objects.filter(sighting__video=video, status=TimeReading.Status.ACCEPTED).count()
    ready = Snippet.objects.filter(video=video, status=Snippet.Status.READY).count()
    return ready == accepted and SceneEmbedding.objects.filter(video=video).exists()


def idle() -> bool:
    """No task queued or taken, and no worker in the middle of one."""
    for queue in QUEUES:
        broker = get_broker(queue)
        if broker.queue_size() or broker.lock_size():
            return False
    return not WorkerHeartbeat.objects.exclude(task={}).exists()


def wait_until_all_finished(videos: list[Video], clusters: Clusters, timeout: float = 240) -> None:
    def settled() -> bool:
        return idle() and all(video_finished(video) for video in videos)

    wait_for(settled, "every video to finish", clusters, timeout)
    time.sleep(1.5)  # nothing more comes: a late duplicate task would show now
    assert settled(), clusters.logs()


def media_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def referenced_files() -> list[str]:
    names = [name for name in Video.objects.values_list("file", flat=True) if name]
    for clip, thumbnail in Snippet.objects.values_list("file", "thumbnail"):
        names += [clip, thumbnail]
    names += list(SceneEmbedding.objects.values_list("thumbnail", flat=True))
    return names


def assert_catalog_whole(
    videos: list[Video], sources: dict[int, Path] | None = None, ran_here: dict[int, set[str]] | None = None
) -> None:
    """Every video finished exactly once; no duplicate rows or files; no orphan files. `ran_here`:
    stage tasks a test ran itself for a video, not through the queue."""
    for video in videos:
        video.refresh_from_db()
        assert video.status == Video.Status.SCANNED and video.error == "", (video.pk, video.status, video.error)
        if sources is not None:
            expected = hashlib.sha256(sources[video.pk].read_bytes()).hexdigest()
            assert video.sha256 == expected, "the stored file is the source, byte for byte (a resumed download)"
        accepted = TimeReading.objects.filter(sighting__video=video, status=TimeReading.Status.ACCEPTED)
        snippets = Snippet.objects.filter(video=video)
        assert accepted.exists(), f"video {video.pk}: its clocks were read"
        assert sorted(snippets.values_list("reading_id", flat=True)) == sorted(accepted.values_list("pk", flat=True))
        assert set(snippets.values_list("status", flat=True)) == {Snippet.Status.READY}
        spans = list(ClockSighting.objects.filter(video=video).values_list("start_seconds", "end_seconds"))
        assert len(spans) == len(set(spans)), "no sighting stored twice"
        embedded = SceneEmbedding.objects.filter(video=video, model_name__startswith=f"{TINY_MODEL}/")
        seconds = list(embedded.values_list("second", flat=True))
        assert seconds and len(seconds) == len(set(seconds)), "no frame embedded twice"
        for task in STAGE_TASKS:
            runs = [t for t in Task.objects.filter(func=f"catalog.tasks.{task}") if t.args == (video.pk,)]
            if (task == "download_video" and not runs) or task in (ran_here or {}).get(video.pk, set()):
                continue  # imported from a local file, or run by the test
            assert [run.success for run in runs] == [True], f"{task} of video {video.pk} finished once: {runs}"
    referenced = referenced_files()
    assert len(referenced) == len(set(referenced)), "no two rows name the same file"
    assert media_files() == set(referenced), "every file has its row (no orphans, no partial files), and back"
    work = Path(settings.INGEST_WORK_DIR)
    assert not [path for path in work.rglob("*") if path.is_file()], "no partial download left once all are stored"
