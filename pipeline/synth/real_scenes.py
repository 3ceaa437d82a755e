"""Detector eval sets made from real clocks of the validation split, never trained on.

Two kinds, both in the eval_detector format (labels.csv; an image without a clock has one row
with no box, so false positives on real photographs count):
- `photo_scenes`: the shlezman validation photographs as they are, each clock boxed around the
  pivot of its annotated hands (the dial is taken as 1.3 minute hands from it: the hands'
  polygons give no rim, so these boxes are approximate), beside the held-out clockless COCO photos;
- `pasted_dial_scenes`: the ermu03 validation dials (exact square crops) pasted into held-out
  clockless COCO photographs at 20-200 px, so each box is exact and small clocks are many.

Nothing is copied for `photo_scenes` (rows point at the files where they lie); `pasted_dial_scenes`
writes its composites into the set's own folder under var/.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from pipeline.labels import LabelRow, write_labels
from pipeline.synth.hand_training import background_files
from pipeline.synth.real_clocks import RealClock, hand_angle

# How far the dial's rim is from the pivot, in minute-hand lengths (the reader's crops use 1.25).
RIM_PER_MINUTE_HAND = 1.3
PASTED_SIDES = (20, 200)  # px: the dials' sides, drawn log-uniformly
PASTES_PER_DIAL = 2  # each at its own size and place: 79 dials are few


def _photo_box(clock: RealClock, width: int, height: int) -> tuple[int, int, int, int] | None:
    if clock.pivot is None or len(clock.hands) < 2:
        return None
    _, minute_length = hand_angle(clock.pivot, clock.hands[1])
    half = RIM_PER_MINUTE_HAND * minute_length
    x0, y0 = max(0.0, clock.pivot[0] - half), max(0.0, clock.pivot[1] - half)
    x1, y1 = min(float(width), clock.pivot[0] + half), min(float(height), clock.pivot[1] + half)
    return round(x0), round(y0), round(x1 - x0), round(y1 - y0)


def _clockless_rows(backgrounds: Path) -> list[LabelRow]:
    return [LabelRow(str(path.resolve()), None, None, None) for path in background_files(backgrounds, validation=True)]


def photo_scenes(clocks: list[RealClock], backgrounds: Path, directory: Path) -> int:
    """The shlezman validation photographs and the held-out clockless photos; returns the clocks boxed."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    for clock in clocks:
        if clock.source != "shlezman" or clock.split != "validation":
            continue
        image = cv2.imread(str(clock.path), cv2.IMREAD_UNCHANGED)
        box = None if image is None else _photo_box(clock, image.shape[1], image.shape[0])
        if box is not None:
            rows.append(LabelRow(str(clock.path.resolve()), clock.hour or 12, clock.minute, box, "analog"))
    write_labels(directory, rows + _clockless_rows(backgrounds))
    return len(rows)


def _round_mask(side: int) -> np.ndarray:
    """A soft disc: the square crops show the wall around a round dial, which would not move with it."""
    mask = np.zeros((side, side), np.float32)
    cv2.circle(mask, (side // 2, side // 2), max(1, side // 2), 1.0, -1, lineType=cv2.LINE_AA)
    return cv2.GaussianBlur(mask, (0, 0), max(0.5, side / 80))[:, :, None]


def pasted_dial_scenes(clocks: list[RealClock], backgrounds: Path, directory: Path, *, seed: int,
                       pastes_per_dial: int = PASTES_PER_DIAL) -> int:  # fmt: skip
    """Each ermu03 validation dial pasted `pastes_per_dial` times into a held-out clockless photo, plus those photos
    untouched; returns the dials pasted."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    photos = background_files(backgrounds, validation=True)
    if not photos:
        raise ValueError(f"no clockless photographs in {backgrounds}")
    rows = []
    dials = [clock for clock in clocks if clock.source == "ermu03" and clock.split == "validation"]
    for index, clock in enumerate(dials * pastes_per_dial):
        dial = cv2.imread(str(clock.path), cv2.IMREAD_COLOR)
        scene = cv2.imread(str(photos[int(rng.integers(len(photos)))]), cv2.IMREAD_COLOR)
        if dial is None or scene is None:
            continue
        low, high = PASTED_SIDES
        side = round(math.exp(rng.uniform(math.log(low), math.log(high))))
        side = min(side, scene.shape[0] - 2, scene.shape[1] - 2)
        x, y = int(rng.integers(0, scene.shape[1] - side)), int(rng.integers(0, scene.shape[0] - side))
        shrunk = cv2.resize(dial, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
        mask = _round_mask(side)
        patch = scene[y : y + side, x : x + side].astype(np.float32)
        scene[y : y + side, x : x + side] = (shrunk * mask + patch * (1 - mask)).round().astype(np.uint8)
        name = f"pasted-{index:04d}.jpg"
        cv2.imwrite(str(directory / name), scene, [cv2.IMWRITE_JPEG_QUALITY, 92])
        rows.append(LabelRow(name, clock.hour or 12, clock.minute, (x, y, side, side), "analog"))
    write_labels(directory, rows + _clockless_rows(backgrounds))
    return len(rows)
