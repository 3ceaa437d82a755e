"""The demo library: short rendered videos of analog and digital clocks at times spread over the
day (and, so that a new user's live clock has exact minutes to show, many in the half hour after
the library is made), plus some videos with no clock at all.

The answers are written to labels.csv beside the videos, for checks and evaluation; the
pipeline never sees them (video titles are neutral).
"""

from __future__ import annotations

import csv
import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.synth.clock_video import Shot, render_clock_video
from pipeline.synth.clocks import DrawnTime


@dataclass(frozen=True)
class DemoVideo:
    name: str
    shots: tuple[Shot, ...]

    @property
    def clocks(self) -> list[tuple[float, Shot]]:
        """(start second in the video, shot) for every shot that shows a clock."""
        out, position = [], 0.0
        for shot in self.shots:
            if shot.start is not None:
                out.append((position, shot))
            position += shot.seconds
        return out


def demo_plan(*, count: int, seed: int, soon_from: int | None = None, soon_share: float = 0.5) -> list[DemoVideo]:
    """`count` videos. With `soon_from` (a minute of the day), about `soon_share` of the clocks show
    the minutes right after it; the rest are spread over the day. One video in eight has no clock."""
    rng = np.random.default_rng(seed)
    videos = []
    soon_index = 0
    for index in range(count):
        shots: list[Shot] = []
        if index % 8 == 7:
            shots = [Shot(float(rng.uniform(5, 9)), None, seed=int(rng.integers(1 << 30)))]
        else:
            for _ in range(int(rng.choice([1, 1, 2]))):
                if soon_from is not None and rng.random() < soon_share:
                    minute_of_day = (soon_from + 1 + soon_index) % 1440
                    soon_index += 1
                else:
                    minute_of_day = int(rng.integers(1440))
                if rng.random() < 0.3:
                    shots.append(Shot(float(rng.uniform(1.5, 3)), None, seed=int(rng.integers(1 << 30))))
                shots.append(
                    Shot(
                        float(rng.uniform(5, 9)),
                        DrawnTime(minute_of_day // 60, minute_of_day % 60, int(rng.integers(0, 40))),
                        "digital" if rng.random() < 0.3 else "analog",
                        seed=int(rng.integers(1 << 30)),
                        scale=float(rng.uniform(0.4, 0.6)),
                    )
                )
        videos.append(DemoVideo(f"demo-{index + 1:03d}.mp4", tuple(shots)))
    return videos


def _render(job: tuple[Path, DemoVideo]) -> str:
    out, video = job
    target = out / video.name
    if not target.exists():  # rendering again is a no-op; a half-written file is never left (see below)
        partial = out / f".{video.name}.part.mp4"
        render_clock_video(partial, list(video.shots))
        partial.replace(target)
    return video.name


def render_demo(out: Path, videos: list[DemoVideo], *, workers: int = 2,
                progress: Callable[[str], None] | None = None) -> Path:  # fmt: skip
    """Render the videos into `out` (skipping those already there) and write out/labels.csv."""
    out.mkdir(parents=True, exist_ok=True)
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for name in pool.imap_unordered(_render, [(out, video) for video in videos]):
            if progress is not None:
                progress(name)
    with (out / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "second", "hour", "minute", "kind"])
        for video in videos:
            for second, shot in video.clocks:
                assert shot.start is not None
                writer.writerow([video.name, f"{second:.2f}", shot.start.hour, shot.start.minute, shot.kind])
    return out
