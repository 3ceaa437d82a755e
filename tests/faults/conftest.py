from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django_q.conf import Conf

from pipeline.synth.clock_video import Shot, render_clock_video
from pipeline.synth.clocks import DrawnTime
from tests.faults.workers import Clusters

# Three clocks a film each, at times of the day no other test uses: three readings, three clips.
_FILMS = {
    "morning": [(3, 15, 81), (8, 40, 82), (10, 5, 83)],
    "noon": [(1, 25, 91), (6, 50, 92), (11, 35, 93)],
    "evening": [(2, 10, 94), (5, 55, 95), (9, 20, 96)],
}


@pytest.fixture(scope="session")
def clock_films(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three 15-second films of three clocks each, rendered once per test session."""
    root = tmp_path_factory.mktemp("clock-films")
    return {
        name: render_clock_video(root / f"{name}.mp4",
                                 [Shot(5, DrawnTime(hour, minute, 0), seed=seed) for hour, minute, seed in shots])
        for name, shots in _FILMS.items()
    }  # fmt: skip


@pytest.fixture
def clusters(ingest_settings, tmp_path: Path) -> Iterator[Clusters]:
    """A CPU and a GPU cluster, started by the test, stopped (or killed) after it."""
    running = Clusters(tmp_path)
    yield running
    running.stop_all()


@pytest.fixture
def redis_broker(monkeypatch, clusters: Clusters) -> Iterator[str]:
    """Redis as the broker, for this process and the clusters (skipped without a Redis server)."""
    url = "redis://127.0.0.1:6379/13"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis server on 127.0.0.1:6379 ({error})")
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", url)
    clusters.env["REDIS_URL"] = url
    yield url
    redis.Redis.from_url(url).flushdb()
