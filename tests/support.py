"""Helpers shared by tests: catalog rows with sensible defaults, subprocess environments, and the
bench scripts as modules."""

from __future__ import annotations

import importlib.util
import itertools
import os
import socket
from pathlib import Path
from types import ModuleType

import numpy as np
import psutil
from django.conf import settings

from catalog.models import ClockSighting, Snippet, TimeReading, Video
from pipeline.clock_time import MINUTES_PER_HALF_DAY, Meridiem
from pipeline.ffmpeg import cut_clip
from pipeline.synth.clock_video import Shot, render_clock_video
from pipeline.synth.clocks import DrawnTime, draw_analog, random_analog_style

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_ids = itertools.count(1)


def make_video(**fields: object) -> Video:
    n = next(_ids)
    defaults: dict[str, object] = {
        "extractor": "generic",
        "external_id": f"video-{n}",
        "title": f"Film {n}",
        "url": f"https://example.org/{n}",
        "status": Video.Status.SCANNED,
    }
    return Video.objects.create(**{**defaults, **fields})


def make_snippet(
    minute_of_day: int,
    *,
    meridiem: Meridiem | None = None,
    confidence: float = 0.9,
    video: Video | None = None,
    start: float = 10.0,
    shown_at: float = 14.5,
    status: str = Snippet.Status.READY,
) -> Snippet:
    """A ready snippet whose reading shows `minute_of_day` (24-hour); meridiem defaults to what the minute implies."""
    video = video or make_video()
    if meridiem is None:
        meridiem = Meridiem.PM if minute_of_day >= MINUTES_PER_HALF_DAY else Meridiem.AM
    hour = (minute_of_day // 60) % 12 or 12
    sighting = ClockSighting.objects.create(
        video=video, start_seconds=start, end_seconds=start + 10, confidence=0.95, kind="analog"
    )
    reading = TimeReading.objects.create(
        sighting=sighting,
        hour=hour,
        minute=minute_of_day % 60,
        meridiem=meridiem.value,
        confidence=confidence,
        method=TimeReading.Method.ANALOG_MODEL,
        shown_at_seconds=shown_at,
    )
    placed = minute_of_day % MINUTES_PER_HALF_DAY if meridiem is Meridiem.UNKNOWN else minute_of_day
    return Snippet.objects.create(
        video=video,
        reading=reading,
        start_seconds=start,
        end_seconds=start + 10,
        minute_of_day=placed,
        status=status,
    )


def make_playable_snippet(minute_of_day: int, tmp_path: Path, seconds: float = 12.0) -> Snippet:
    """A real clip of a clock that shows the minute, cut by the ffmpeg adapter, placed at that minute."""
    hour, minute = divmod(minute_of_day, 60)
    source = render_clock_video(tmp_path / f"source-{minute_of_day}.mp4",
                                [Shot(seconds, DrawnTime(hour, minute, 0), seed=minute_of_day)])  # fmt: skip
    name = f"snippets/live-{minute_of_day}.mp4"
    cut_clip(source, Path(settings.MEDIA_ROOT) / name, start=0, duration=seconds, has_audio=True, gpu=False)
    # The clock shows HH:MM:00 at the clip's first frame.
    snippet = make_snippet(minute_of_day, meridiem=Meridiem.PM if hour >= 12 else Meridiem.AM, start=0.0, shown_at=0.0)
    Snippet.objects.filter(pk=snippet.pk).update(end_seconds=seconds, file=name)
    return snippet


def process_is_gone(pid: int) -> bool:
    """True when the process has exited (a zombie waiting for a parent that never reaps counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def project_env(**overrides: str) -> dict[str, str]:
    """The environment for a subprocess of this project, without the caller's DATABASE_URL or REDIS_URL."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env["PYTHONUNBUFFERED"] = "1"
    # A server started by a test does not render the demo library into an empty catalog.
    env["CLOCKWEB_DEMO_ON_EMPTY"] = "0"
    env.update(overrides)
    return env


def load_bench(name: str) -> ModuleType:
    """bench/NAME.py as a module, to test its parts (the benches are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def drawn_clock_crop(hour: int, minute: int, seed: int = 8, *, side: int = 112, margin: int = 6,
                background: int = 240) -> np.ndarray:  # fmt: skip
    """A drawn analog clock at hour:minute on a plain square canvas, `margin` pixels in from its edge."""
    rng = np.random.default_rng(seed)
    clock = draw_analog(DrawnTime(hour, minute, 0), random_analog_style(rng), side - 2 * margin, rng).image
    canvas = np.full((side, side, 3), background, np.uint8)
    inner = canvas[margin:-margin, margin:-margin]
    alpha = clock[..., 3:4] / 255
    inner[:] = (inner * (1 - alpha) + clock[..., :3] * alpha).astype(np.uint8)
    return canvas
