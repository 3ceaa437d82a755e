"""Short 720p videos made from real clock photographs, to test the whole chain on real clocks:
a clockless real scene, then the clock photograph with a slow push-in, then another scene. The
clock in a photograph does not run, so its whole shot shows one minute. And slideshows of real
photographs, one shot each, to test search on real pictures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from pipeline.ffmpeg import encode_frames

WIDTH, HEIGHT, FPS = 1280, 720, 25


def _framed(image: np.ndarray, zoom: float, centre: tuple[float, float]) -> np.ndarray:
    """The 16:9 frame that fills with `image` at zoom 1, `zoom` times closer, around `centre`."""
    height, width = image.shape[:2]
    scale = max(WIDTH / width, HEIGHT / height) * zoom
    matrix = np.array([[scale, 0, WIDTH / 2 - centre[0] * scale], [0, scale, HEIGHT / 2 - centre[1] * scale]])
    return cv2.warpAffine(image, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _push_in(image: np.ndarray, seconds: float, zoom_from: float, zoom_to: float,
             centre: tuple[float, float] | None = None) -> Iterator[np.ndarray]:  # fmt: skip
    height, width = image.shape[:2]
    centre = centre or (width / 2, height / 2)
    frames = round(seconds * FPS)
    for index in range(frames):
        yield _framed(image, zoom_from + (zoom_to - zoom_from) * index / max(1, frames - 1), centre)


def photo_video(path: Path, clock: np.ndarray, before: np.ndarray, after: np.ndarray, *,
                box: tuple[int, int, int, int] | None = None,
                seconds: tuple[float, float, float] = (3, 6, 3)) -> Path:  # fmt: skip
    """Encode an MP4 of RGB pictures: `before`, the clock photograph pushed in 15 % on its clock
    (its box; the whole picture without one), `after`."""
    if box is None:
        # A crop of the dial alone: set it on a dark ground, so that all of the dial stays in view.
        side = max(clock.shape[:2])
        pad_y, pad_x = max(0, int(side * 0.8) - clock.shape[0] // 2), max(0, int(side * 1.4) - clock.shape[1] // 2)
        clock = cv2.copyMakeBorder(clock, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=(40, 40, 40))
        centre, zoom = None, 1.0
    else:
        x, y, w, h = box
        centre = (x + w / 2, y + h / 2)
        # Start where the clock is about half the frame's height (never wider than the whole picture).
        scale = max(WIDTH / clock.shape[1], HEIGHT / clock.shape[0])
        zoom = max(1.0, 0.5 * HEIGHT / (max(w, h) * scale))

    def frames() -> Iterator[np.ndarray]:
        yield from _push_in(before, seconds[0], 1.0, 1.05)
        yield from _push_in(clock, seconds[1], zoom, zoom * 1.15, centre)
        yield from _push_in(after, seconds[2], 1.0, 1.05)

    return encode_frames(path, frames(), fps=FPS, size=(WIDTH, HEIGHT), audio_tone=None)


def slideshow_video(path: Path, photos: list[np.ndarray], *, seconds: float = 2.0) -> tuple[Path, list[float]]:
    """Encode an MP4 of RGB photographs, one shot of `seconds` each with a slow push-in. Returns
    the file and the times of the cuts between shots."""

    def frames() -> Iterator[np.ndarray]:
        for photo in photos:
            yield from _push_in(photo, seconds, 1.0, 1.05)

    cuts = [round(seconds * index, 3) for index in range(1, len(photos))]
    return encode_frames(path, frames(), fps=FPS, size=(WIDTH, HEIGHT), audio_tone=None), cuts
