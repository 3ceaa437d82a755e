"""Observability: /healthz (database, broker, live workers per queue, the detector), structured logs, and the
task failure counts on the admin index."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Task

from catalog import services
from catalog.models import WorkerHeartbeat
from clockweb.logs import JsonFormatter

pytestmark = pytest.mark.django_db


def test_live_workers_are_counted_per_queue_and_stale_ones_are_not(client, settings):
    now = timezone.now()
    services.worker_heartbeat(queue=settings.Q_GPU_QUEUE, host="gpu-1", pid=10, started_at=now)
    services.worker_heartbeat(queue=settings.Q_GPU_QUEUE, host="gpu-1", pid=11, started_at=now)
    services.worker_heartbeat(queue=settings.Q_CPU_QUEUE, host="cpu-1", pid=12, started_at=now)
    WorkerHeartbeat.objects.create(queue=settings.Q_CPU_QUEUE, host="cpu-2", pid=13, started_at=now,
                                   seen_at=now - timedelta(minutes=5))  # fmt: skip

    body = client.get("/healthz?require=workers").json()

    assert body["ok"]
    assert body["queues"][settings.Q_GPU_QUEUE] == {"workers": 2, "hosts": ["gpu-1"]}
    assert body["queues"][settings.Q_CPU_QUEUE] == {"workers": 1, "hosts": ["cpu-1"]}


def test_a_queue_without_workers_fails_only_the_probe_that_asks_for_them(client, settings):
    services.worker_heartbeat(queue=settings.Q_CPU_QUEUE, host="cpu-1", pid=12, started_at=timezone.now())
    assert client.get("/healthz").status_code == 200
    strict = client.get("/healthz?require=workers")
    assert strict.status_code == 503 and strict.json()["queues"][settings.Q_GPU_QUEUE]["workers"] == 0


def test_the_health_check_says_which_detector_scans_and_why(client, settings, tmp_path):
    settings.DETECTOR_WEIGHTS = None
    settings.DETECTOR_CACHE_DIR = tmp_path
    settings.NANODET_WEIGHTS = str(tmp_path / "nanodet-m.pt")

    offline = client.get("/healthz").json()["detector"]
    assert offline["kind"] == "own" and offline["weights"] == settings.OWN_DETECTOR_WEIGHTS
    assert [reason.split(":")[0] for reason in offline["passed_over"]] == ["yolo-coco", "nanodet-coco"]

    (tmp_path / "nanodet-m.pt").write_bytes(b"converted")
    assert client.get("/healthz").json()["detector"]["kind"] == "nanodet-coco"
    (tmp_path / "yolo11n.pt").write_bytes(b"cached")
    detector = client.get("/healthz").json()["detector"]
    assert {key: detector[key] for key in ("kind", "weights", "why", "passed_over")} == {
        "kind": "yolo-coco", "weights": str(tmp_path / "yolo11n.pt"), "why": "COCO yolo11n.pt is cached",
        "passed_over": [],
    }  # fmt: skip
    assert settings.OWN_DETECTOR_WEIGHTS in detector["second_look"], "the own detector adds what COCO misses"
    settings.DETECTOR_WEIGHTS = "/models/mine.pt"
    assert client.get("/healthz").json()["detector"]["kind"] == "forced"


def test_an_unreachable_broker_is_a_503_that_says_why(client, settings, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["database"] == {"ok": True}
    assert body["broker"]["ok"] is False and body["broker"]["kind"] == "redis" and body["broker"]["error"]


def test_old_heartbeats_are_pruned():
    now = timezone.now()
    WorkerHeartbeat.objects.create(queue="q", host="h", pid=1, started_at=now, seen_at=now - timedelta(days=2))
    WorkerHeartbeat.objects.create(queue="q", host="h", pid=2, started_at=now, seen_at=now)
    assert services.worker_heartbeats_prune() == 1
    assert list(WorkerHeartbeat.objects.values_list("pid", flat=True)) == [2]


def test_json_logs_are_one_object_per_line_with_the_extra_fields():
    record = logging.LogRecord("catalog.tasks", logging.WARNING, __file__, 1, "video %s not cut: %s", (7, "boom"), None)
    record.video = 7
    record.queue = "clockweb"

    entry = json.loads(JsonFormatter().format(record))

    assert entry["level"] == "WARNING" and entry["logger"] == "catalog.tasks"
    assert entry["message"] == "video 7 not cut: boom"
    assert entry["video"] == 7 and entry["queue"] == "clockweb"
    assert "\n" not in JsonFormatter().format(record)


def test_the_admin_index_counts_failed_tasks_per_task(client):
    now = timezone.now()
    for index, (func, age) in enumerate([("catalog.tasks.scan_video", 1), ("catalog.tasks.scan_video", 30),
                                         ("catalog.tasks.cut_video", 24 * 10)]):  # fmt: skip
        Task.objects.create(id=f"t{index}", name=f"task {index}", func=func, started=now - timedelta(hours=age),
                            stopped=now - timedelta(hours=age), success=False, result="boom")  # fmt: skip
    client.force_login(User.objects.create_superuser("admin", password="x"))

    html = client.get("/admin/").content.decode()

    def counts(func: str) -> list[str]:
        row = html[html.index(f"{func}</a>") :]
        return [cell.split("</td>")[0] for cell in row.split("</tr>")[0].split("<td>")[1:]]

    assert counts("catalog.tasks.scan_video") == ["1", "2", "2"]
    assert counts("catalog.tasks.cut_video") == ["0", "0", "1"]
