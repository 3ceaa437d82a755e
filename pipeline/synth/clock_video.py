"""Short videos of clocks at known times, for tests, benchmarks and the demo library.

Each shot shows a background and, usually, one clock that runs in real time (its second hand
moves), seen from a fixed angle with a slow camera drift. Shots are separated by hard cuts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.ffmpeg import encode_frames
from pipeline.synth.clocks import (
    DrawnTime,
    draw_analog,
    draw_digital,
    paste,
    random_analog_style,
    random_background,
    random_digital_style,
)


@dataclass(frozen=True)
class Shot:
    seconds: float
    # None: a shot with no clock in it.
    start: DrawnTime | None = None
    kind: str = "analog"
    seed: int = 0
    # How much of the frame's height the clock takes.
    scale: float = 0.45
    # The clock is drawn running (real time) or stopped.
    running: bool = True


def _clock_sprite(shot: Shot, elapsed: float, rng_seed: int, size: int) -> np.ndarray:
    assert shot.start is not None
    seconds = shot.start.hour * 3600 + shot.start.minute * 60 + shot.start.second
    if shot.running:
        seconds += int(elapsed)
    seconds %= 86400
    now = DrawnTime(seconds // 3600, seconds // 60 % 60, seconds % 60)
    rng = np.random.default_rng(rng_seed)  # the same style in every frame of the shot
    if shot.kind == "digital":
        return draw_digital(now, random_digital_style(rng), max(16, int(size * 0.45)), rng).image
    return draw_analog(now, random_analog_style(rng), size, rng).image


def shot_frames(shot: Shot, *, fps: float, width: int, height: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng([shot.seed, 1])
    background = random_background(rng, width + 64, height + 64)
    size = int(height * shot.scale)
    x0, y0 = int(rng.integers(16, max(17, width - size - 16))), int(rng.integers(16, max(17, height - size - 16)))
    drift = rng.uniform(-1, 1, size=2) * 12
    for index in range(round(shot.seconds * fps)):
        elapsed = index / fps
        progress = elapsed / max(shot.seconds, 1e-6)
        dx, dy = int(32 + drift[0] * math.sin(progress * math.pi)), int(32 + drift[1] * progress)
        frame = background[dy : dy + height, dx : dx + width].copy()
        if shot.start is not None:
            sprite = _clock_sprite(shot, elapsed, shot.seed, size)
            paste(frame, sprite, x0 + dx - 32, y0 + dy - 32)
        yield frame


def render_clock_video(path: Path, shots: list[Shot], *, fps: float = 25, width: int = 640, height: int = 360,
                       audio: bool = True) -> Path:  # fmt: skip
    """Encode the shots, one after another with hard cuts, into an H.264/AAC MP4."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def frames() -> Iterator[np.ndarray]:
        for shot in shots:
            yield from shot_frames(shot, fps=fps, width=width, height=height)

    return encode_frames(path, frames(), fps=fps, size=(width, height), audio_tone=440.0 if audio else None)


def thumbnail(frame: np.ndarray, width: int = 160) -> np.ndarray:
    height = int(frame.shape[0] * width / frame.shape[1])
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
