"""Scale-out: GPU stages and CPU stages go to their own queues, and clusters on different
machines share one Redis: each takes only the work of its own queue."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid

import pytest
import redis
from django.conf import settings
from django.db import connection
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.tasks import async_task, result

from catalog import selectors, tasks
from catalog.models import WorkerHeartbeat
from tests.support import PROJECT_ROOT, make_video, project_env


@pytest.fixture
def redis_url(redis_server, monkeypatch) -> str:
    url = f"{redis_server}/14"
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", url)
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.mark.parametrize(
    ("queue", "task", "gpu"),
    [(tasks.queue_download, "download_video", False), (tasks.queue_scan, "scan_video", True),
     (tasks.queue_cut, "cut_video", False), (tasks.queue_embed, "embed_video", True)],
)  # fmt: skip
def test_each_stage_goes_to_the_queue_of_its_kind(db, redis_url, queue, task, gpu):
    video = make_video()
    cpu_queue, gpu_queue = get_broker(settings.Q_CPU_QUEUE), get_broker(settings.Q_GPU_QUEUE)

    queue(video)

    assert (gpu_queue.queue_size(), cpu_queue.queue_size()) == ((1, 0) if gpu else (0, 1))
    assert tasks.queue_name(task) == (settings.Q_GPU_QUEUE if gpu else settings.Q_CPU_QUEUE)


def test_discovery_is_cpu_work(db, redis_url):
    from catalog.models import Source

    tasks.queue_discovery(Source.objects.create(kind="url", locator="https://example.org/a"))
    assert get_broker(settings.Q_CPU_QUEUE).queue_size() == 1
    assert get_broker(settings.Q_GPU_QUEUE).queue_size() == 0


def _cluster(queue: str, database_url: str, redis_url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=PROJECT_ROOT,
        env=project_env(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            Q_CLUSTER_NAME=queue,
            Q_WORKERS="1",
            SECRET_KEY=settings.SECRET_KEY,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_two_clusters_share_one_redis_and_each_serves_its_own_queue(redis_url):
    params = connection.settings_dict
    database_url = f"postgresql://{params['USER']}@/{params['NAME']}?host={params['HOST']}"
    clusters = {
        queue: _cluster(queue, database_url, redis_url) for queue in (settings.Q_CPU_QUEUE, settings.Q_GPU_QUEUE)
    }
    try:
        marker = uuid.uuid4().hex
        queued = {
            queue: [async_task("catalog.tasks.ping", cluster=queue, task_name=f"{marker}-{n}") for n in range(3)]
            for queue in clusters
        }
        for queue, ids in queued.items():
            for task_id in ids:
                answer = result(task_id, wait=60_000)
                assert answer is not None, f"{queue} task not run: " + _output(clusters[queue])
                # The task ran in a worker of the cluster that serves its queue, not the other one.
                assert answer["queue"] == queue
                assert answer["pid"] in _worker_pids(clusters[queue])
        # Each worker process reports itself alive: /healthz sees a worker on both queues.
        health = selectors.health()
        assert {queue: health["queues"][queue]["workers"] for queue in clusters} == {queue: 1 for queue in clusters}
        beating = set(WorkerHeartbeat.objects.values_list("pid", flat=True))
        assert beating and beating <= set().union(*(_worker_pids(process) for process in clusters.values()))
    finally:
        for process in clusters.values():
            process.send_signal(signal.SIGTERM)
        for process in clusters.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _worker_pids(process: subprocess.Popen) -> set[int]:
    import psutil

    return {child.pid for child in psutil.Process(process.pid).children(recursive=True)}


def _output(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=30)[0][-3000:]
