"""Fine-tuning the hand reader (read/hand_net) from ImageNet on real and rendered clocks.

Each batch mixes, drawn afresh every step by a loader process:
- real photographs (synth/real_clocks, training split only), re-cropped the way the detector
  would crop them (box jitter, a small tilt, an oblique squeeze) and damaged as film and cameras
  damage them (clocks.damage: light, glare, blur, grain, low resolution, JPEG);
- rendered analog clocks set into real COCO photographs (../shared/data/backgrounds-coco), so
  the surroundings of a rendered clock are real;
- rendered digital displays and crops of clockless real photographs, for the kind head;
- with `--reviewed`, the clocks curators confirmed or corrected (`manage.py export_reviewed`):
  analog ones among the real photographs, displays among the rendered ones.

Every direction is labelled as the crop shows it (read/hand_net): where the minute hand, the
hour hand and the dial's 12 point against the crop's up. A crop turned, squeezed or seen from the
side moves all three, and the labels are moved with it (`seen_directions`), so the network learns
to find the dial's tilt rather than to blur the hands by it.

Validation is on the real validation split after every `eval_every` steps; the best checkpoint
by its top1 is written, and the latest state (weights, optimizer, step) beside it, so `--init`
continues a run where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from pipeline.geometry import Box, best_device
from pipeline.images import read_rgb
from pipeline.read.decode import cyclic_soft_label, within_a_minute
from pipeline.read.dial_geometry import local_map, seen_degrees, squeeze_of
from pipeline.read.hand_net import (
    HOUR_HAND_BINS,
    INPUT_SIZE,
    KINDS,
    MINUTE_BINS,
    OPTIONAL_HEADS,
    SECOND_BINS,
    UP_BINS,
    HandReaderNet,
    to_tensor,
)
from pipeline.read.reader import CROP_MARGIN, HAND_DECODE, ClockReader, crop_clock, hand_reading, hand_time_posterior
from pipeline.synth.clocks import (
    damage,
    draw_analog,
    paste,
    perspective_warp,
    random_analog_style,
    random_time,
    reader_sample,
)
from pipeline.synth.real_clocks import RealClock, ReviewedFrames, hand_angle, real_clocks

# Real sets whose dials face the camera: ermu03's crops are rectified, cv2024's faces scanned.
# shlezman's photographs show some dials from the side, by how much no label says.
FRONTAL_SOURCES = ("ermu03", "cv2024-fake-hands")
# The mix of a batch: real photographs, real dials with new hands drawn on them, rendered dials on
# real photographs, displays, no clock.
MIX = {"real": 0.36, "repainted": 0.18, "rendered": 0.28, "digital": 0.09, "none": 0.09}
# Among real photographs: the share from the sets with real hands (ermu03, shlezman); the rest
# are the drawn-hands dials (cv2024-fake-hands), which are many but all alike.
REAL_HANDS_SHARE = 0.45
# Among displays, where curators reviewed some: the share drawn from those real frames.
REVIEWED_DISPLAY_SHARE = 0.5
# The largest side a real image is kept at in memory (the crop is INPUT_SIZE anyway).
_KEEP_SIDE = 288
_MINUTE_SIGMA = 0.8
_HOUR_HAND_SIGMA = 1.2
# Where the dial's 12 points decides every minute read against it: 6 degrees off is a minute off.
# Measured on rendered dials with run 15 (its up head trained with sigma 1.5 bins, weight 1): the
# head missed by 6.8 degrees (standard deviation), and decoding with the true tilt instead read
# 0.935 where the head's own read 0.825 (models/README.md). So its target is narrower and its
# loss counts twice.
_UP_SIGMA = 1.0
UP_LOSS_WEIGHT = 2.0
# The squeeze is regressed (Huber, linear beyond beta); its size is at most about 0.5, so its loss
# is scaled up to count as much as a head's cross-entropy.
SQUEEZE_LOSS_WEIGHT = 10.0
_SQUEEZE_BETA = 0.05
# How far real crops are turned (degrees, a normal spread, clipped): the labels turn with them.
_TILT_SPREAD, _TILT_LIMIT = 12.0, 40.0
# Film frames show clocks a few dozen pixels wide: this share of crops is shrunk to a side drawn
# from SMALL_CLOCK_SIDES and enlarged again, bilinearly, as reader.crop_clock enlarges them.
# How hard clocks.damage strikes a crop: its `amount`, drawn uniformly from DAMAGE_AMOUNTS.
# Run 36 trained from run 31 with more and smaller small clocks (0.25, 16-56 px) and harder
# damage (0.2-1.1): real crops shrunk to 28 px read 0.724 -> 0.746, clean ones 0.851 -> 0.828
# (models/README.md), so these stay.
SMALL_CLOCK_SHARE = 0.15
SMALL_CLOCK_SIDES = (20, 48)
DAMAGE_AMOUNTS = (0.2, 0.9)
# The second hand (hand_net `second_hand`). Its label is known on rendered dials, on repainted ones
# where a second hand is drawn, and on the real sets whose annotations include every second hand
# (shlezman's hour, minute and second polygons): there no third polygon means none. Elsewhere
# (ermu03 annotates two pointers; the drawn dials and the aircraft clock say nothing) it is masked.
SECOND_HAND_SOURCES = ("shlezman",)
# The share of repainted dials given a second hand, and of drawn second hands that stand at 12: a
# clock drawn at a whole minute shows its second hand there, over the minute hand's mark, and the
# reader must not take it for the minute hand.
REPAINTED_SECOND_HAND_SHARE = 0.4
SECOND_AT_TWELVE_SHARE = 0.12
_SECOND_HAND_SIGMA = 0.8
SECOND_HAND_LOSS_WEIGHT = 1.0


def _is_validation_background(path: Path) -> bool:
    """A fifth of the clockless COCO photographs is never trained on (false-positive checks)."""
    return int(hashlib.sha256(path.name.encode()).hexdigest()[:8], 16) % 5 == 0


def background_files(root: Path, *, validation: bool = False) -> list[Path]:
    return [path for path in sorted(root.glob("*.jpg")) if _is_validation_background(path) == validation]


@dataclass(frozen=True)
class _Base:
    image: np.ndarray  # RGB
    centre: tuple[float, float]
    half: float  # half the side of the clock's box
    hour: int
    minute: int
    # Whether the dial faces the camera in its picture (rectified crops, scanned faces): only then
    # is a crop's squeeze the one its re-cropping gave it.
    frontal: bool = True
    # Where its second hand points (degrees clockwise from 12), and whether that is known (see
    # SECOND_HAND_SOURCES): known and None is a dial without one.
    second_hand: float | None = None
    second_hand_known: bool = False
    # The seconds the hands stand past their marks (repainted dials drawn with a second hand).
    seconds: float = 0.0


def _region(image: np.ndarray, clock: RealClock) -> tuple[_Base, float, tuple[float, float]]:
    """The clock's surroundings (2.5 half-sides around it, at most _KEEP_SIDE), and how image
    pixels map into it: region = (image - origin) * scale."""
    height, width = image.shape[:2]
    if clock.box is None:
        centre, half = (width / 2, height / 2), min(width, height) / 2 / 1.05
    else:
        x, y, w, h = clock.box
        centre, half = (x + w / 2, y + h / 2), max(w, h) / 2
    reach = math.ceil(half * 2.5)
    padded = cv2.copyMakeBorder(image, reach, reach, reach, reach, cv2.BORDER_REPLICATE)
    cx, cy = round(centre[0]) + reach, round(centre[1]) + reach
    region = padded[cy - reach : cy + reach, cx - reach : cx + reach]
    scale = min(1.0, _KEEP_SIDE / max(1, region.shape[0]))
    if scale < 1:
        region = cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    side = region.shape[0]
    origin = (cx - reach - reach, cy - reach - reach)  # image pixels at the region's corner
    known = clock.source in SECOND_HAND_SOURCES
    second = hand_angle(clock.pivot, clock.hands[2])[0] if known and clock.pivot and len(clock.hands) > 2 else None
    base = _Base(region, (side / 2, side / 2), half * scale, clock.hour, clock.minute, clock.source in FRONTAL_SOURCES,
                 second, known)  # fmt: skip
    return base, scale, origin


def _base(clock: RealClock) -> _Base | None:
    image = read_rgb(clock.path)
    return None if image is None else _region(image, clock)[0]


@dataclass(frozen=True)
class _Dial:
    """A real dial with its annotated hands painted out, and what those hands looked like, so
    that new hands can be drawn on it at any time."""

    base: _Base
    pivot: tuple[float, float]
    lengths: tuple[float, float]  # hour, minute
    widths: tuple[float, float]
    colour: tuple[int, int, int]


def _dial(clock: RealClock) -> _Dial | None:
    image = read_rgb(clock.path)
    if image is None or clock.pivot is None or len(clock.hands) < 2:
        return None
    base, scale, origin = _region(image, clock)
    to_region = lambda points: (np.asarray(points) - origin) * scale  # noqa: E731
    hands = [to_region(polygon) for polygon in clock.hands]
    pivot = tuple(to_region(clock.pivot))
    mask = np.zeros(base.image.shape[:2], np.uint8)
    for polygon in hands:
        cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 255)
    hour_mask = np.zeros_like(mask)
    cv2.fillPoly(hour_mask, [np.round(hands[0]).astype(np.int32)], 255)
    pixels = base.image[hour_mask > 0]
    if len(pixels) < 4:
        return None
    colour = tuple(int(value) for value in np.median(pixels, axis=0))
    grown = cv2.dilate(mask, np.ones((3, 3), np.uint8), iterations=max(1, round(base.half / 40)))
    painted = cv2.inpaint(base.image, grown, 3, cv2.INPAINT_TELEA)
    lengths, widths = [], []
    for polygon in hands[:2]:
        length = float(np.hypot(*(polygon - pivot).T).max())
        area = abs(cv2.contourArea(polygon.astype(np.float32)))
        lengths.append(length)
        widths.append(max(1.0, area / max(length, 1.0)))
    # Every annotated hand is painted out, a second hand too: where all are annotated, none is left.
    return _Dial(replace(base, image=painted, second_hand=None), pivot, tuple(lengths), tuple(widths), colour)


def _hand(pivot: tuple[float, float], degrees: float, length: float, width: float, tail: float) -> np.ndarray:
    angle = math.radians(degrees)
    along = np.array([math.sin(angle), -math.cos(angle)])
    across = np.array([-along[1], along[0]])
    start = np.asarray(pivot) - along * length * tail
    tip = np.asarray(pivot) + along * length
    half = width / 2
    return np.array([start + across * half, tip + across * half * 0.35, tip - across * half * 0.35,
                     start - across * half])  # fmt: skip


def _drawn_seconds(rng: np.random.Generator) -> int:
    return 0 if rng.random() < SECOND_AT_TWELVE_SHARE else int(rng.integers(60))


def repainted(dial: _Dial, rng: np.random.Generator) -> tuple[_Base, int, int]:
    """The dial with hands drawn at a random time, as the annotated ones were (length, width, colour),
    and sometimes a thin second hand, the other two moved on by its seconds."""
    hour, minute = int(rng.integers(12)), int(rng.integers(60))
    with_second = rng.random() < REPAINTED_SECOND_HAND_SHARE
    seconds = _drawn_seconds(rng) if with_second else 0
    image = dial.base.image.copy()
    colour = tuple(int(np.clip(value + rng.normal(0, 12), 0, 255)) for value in dial.colour)
    past = minute + seconds / 60
    tail = float(rng.uniform(0.0, 0.2))
    for degrees, length, width in ((hour * 30 + past * 0.5, dial.lengths[0], dial.widths[0]),
                                   (past * 6.0, dial.lengths[1], dial.widths[1])):  # fmt: skip
        polygon = _hand(dial.pivot, degrees, length * rng.uniform(0.92, 1.05), width * rng.uniform(0.8, 1.2), tail)
        cv2.fillPoly(image, [np.round(polygon * 16).astype(np.int32)], colour, lineType=cv2.LINE_AA, shift=4)
    if with_second:
        red = (int(rng.integers(170, 256)), int(rng.integers(0, 60)), int(rng.integers(0, 60)))
        second_colour = red if rng.random() < 0.5 else colour
        length = dial.lengths[1] * rng.uniform(0.95, 1.12)
        polygon = _hand(dial.pivot, seconds * 6.0, length, max(1.0, dial.widths[1] * rng.uniform(0.15, 0.35)),
                        float(rng.uniform(0.1, 0.3)))  # fmt: skip
        cv2.fillPoly(image, [np.round(polygon * 16).astype(np.int32)], second_colour, lineType=cv2.LINE_AA, shift=4)
    if rng.random() < 0.5:
        radius = max(1, round(max(dial.widths) * rng.uniform(0.5, 1.0)))
        cv2.circle(image, (round(dial.pivot[0]), round(dial.pivot[1])), radius, colour, -1, cv2.LINE_AA)
    base = replace(dial.base, image=image, hour=hour, minute=minute, second_hand=seconds * 6.0 if with_second else None,
                   second_hand_known=with_second or dial.base.second_hand_known, seconds=seconds)  # fmt: skip
    return base, hour, minute


def seen_directions(matrix: np.ndarray, centre: tuple[float, float], hour: float, minute: float) -> tuple[float, ...]:
    """Where the minute hand, the hour hand and the dial's 12 of a clock upright at `centre`
    showing hour:minute (fractions allowed) point once the image is mapped by `matrix` (a 2 x 3
    affine or a 3 x 3 homography): degrees clockwise from the new image's up. Measured at the
    centre, where a homography is as good as its local map."""
    dial_degrees = np.array([minute * 6.0, (hour % 12) * 30.0 + minute * 0.5, 0.0])
    return tuple(float(value) for value in seen_degrees(local_map(matrix, centre), dial_degrees))


def _recrop(base: _Base, rng: np.random.Generator, *,
            tilt_degrees: float = _TILT_SPREAD) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The clock cropped as the detector and reader.crop_clock would, with the box a little off,
    turned and sometimes squeezed; and the 2 x 3 map from the base image into the crop."""
    half_out = base.half * CROP_MARGIN * rng.uniform(0.9, 1.2)
    shift = rng.uniform(-0.08, 0.08, size=2) * base.half
    centre = (base.centre[0] + shift[0], base.centre[1] + shift[1])
    angle = float(np.clip(rng.normal(0, tilt_degrees), -_TILT_LIMIT, _TILT_LIMIT))
    squeeze = rng.uniform(0.7, 1.0) if rng.random() < 0.3 else 1.0  # an oblique view
    scale = INPUT_SIZE / (2 * half_out)
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    matrix[:, 2] += np.array([INPUT_SIZE / 2 - centre[0], INPUT_SIZE / 2 - centre[1]])
    if squeeze != 1.0:
        direction = rng.uniform(0, math.pi)
        c, s = math.cos(direction), math.sin(direction)
        rotate = np.array([[c, -s], [s, c]])
        squash = rotate @ np.diag([squeeze, 1.0]) @ rotate.T
        middle = np.array([INPUT_SIZE / 2, INPUT_SIZE / 2])
        full = np.vstack([matrix, [0, 0, 1]])
        extra = np.eye(3)
        extra[:2, :2] = squash
        extra[:2, 2] = middle - squash @ middle
        matrix = (extra @ full)[:2]
    crop = cv2.warpAffine(base.image, matrix, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return crop, matrix


def _photometric(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.1:
        gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
        crop = np.repeat(gray[..., None], 3, axis=2)
    if rng.random() < SMALL_CLOCK_SHARE:  # very small clocks: the crop comes from a few dozen pixels
        side = int(rng.integers(*SMALL_CLOCK_SIDES))
        small = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
        crop = cv2.resize(small, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
    return damage(crop, rng, amount=float(rng.uniform(*DAMAGE_AMOUNTS)))


def _display_crop(path: Path, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """A reviewed display as the scan's reader sees it: its box, squared and resized."""
    image = read_rgb(path)
    return None if image is None else crop_clock(image, Box(*box), INPUT_SIZE)


def _background_patch(backgrounds: list[np.ndarray], rng: np.random.Generator, side: int) -> np.ndarray:
    image = backgrounds[int(rng.integers(len(backgrounds)))]
    height, width = image.shape[:2]
    crop = int(min(height, width, max(24, side * rng.uniform(0.6, 3.0))))
    y, x = int(rng.integers(0, height - crop + 1)), int(rng.integers(0, width - crop + 1))
    return cv2.resize(image[y : y + crop, x : x + crop], (side, side), interpolation=cv2.INTER_LINEAR)


def rendered_on_photo(rng: np.random.Generator, backgrounds: list[np.ndarray]) -> Sample:
    """A rendered analog clock set into a real photograph and cropped around."""
    native = int(rng.choice([48, 64, 96, 128, 160]))
    drawn = replace(random_time(rng), second=_drawn_seconds(rng))
    style = random_analog_style(rng)
    clock = draw_analog(drawn, style, native, rng)
    sprite, warp = perspective_warp(clock.image, rng, strength=float(rng.uniform(0.0, 0.2)))
    # The hands are drawn where the seconds put them too.
    minute = clock.time.minute + clock.time.second / 60
    centre = (clock.image.shape[1] / 2, clock.image.shape[0] / 2)
    directions = seen_directions(warp, centre, clock.time.hour, minute)
    second_hand = None
    if style.second_hand != "none":
        second_hand = float(seen_degrees(local_map(warp, centre), np.array([clock.time.second * 6.0]))[0])
    # Pasting and resizing only move and scale the sprite: the dial's squeeze is the warp's.
    squeeze = squeeze_of(local_map(warp, centre))
    h, w = sprite.shape[:2]
    side = int(max(h, w) * CROP_MARGIN * rng.uniform(0.95, 1.2))
    canvas = _background_patch(backgrounds, rng, side)
    jitter = side // 16
    paste(canvas, sprite, (side - w) // 2 + int(rng.integers(-jitter, jitter + 1)),
          (side - h) // 2 + int(rng.integers(-jitter, jitter + 1)))  # fmt: skip
    crop = cv2.resize(canvas, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
    return Sample(_photometric(crop, rng), KINDS.index("analog"), clock.time.hour % 12, clock.time.minute, directions,
                  squeeze, second_hand, True)  # fmt: skip


@dataclass(frozen=True)
class Sample:
    image: np.ndarray
    kind: int
    hour: int  # -1 where there is no dial to read
    minute: int
    # Where the minute hand, the hour hand and the dial's 12 point in the crop (seen_directions);
    # unused (masked out of the loss) where there is no dial.
    directions: tuple[float, ...] = (0.0, 0.0, 0.0)
    # How the dial is squeezed in the crop (read/dial_geometry); None where that is not known.
    squeeze: tuple[float, float] | None = None
    # Where the second hand points in the crop, and whether that is known (known and None: none).
    second_hand: float | None = None
    second_hand_known: bool = False


def _dial_sample(base: _Base, hour: int, minute: int, rng: np.random.Generator) -> Sample:
    """A real (or repainted) dial, upright in its photograph, re-cropped: its labels moved with it."""
    crop, matrix = _recrop(base, rng)
    directions = seen_directions(matrix, base.centre, hour, minute + base.seconds / 60)
    squeeze = squeeze_of(local_map(matrix, base.centre)) if base.frontal else None
    second_hand = None
    if base.second_hand is not None:
        second_hand = float(seen_degrees(local_map(matrix, base.centre), np.array([base.second_hand]))[0])
    return Sample(_photometric(crop, rng), KINDS.index("analog"), hour, minute, directions, squeeze, second_hand,
                  base.second_hand_known)  # fmt: skip


class SampleStream(torch.utils.data.IterableDataset):
    """Endless training samples, drawn by the mix above; reproducible from the seed and worker."""

    def __init__(self, real_root: Path, background_root: Path, seed: int,
                 reviewed: ReviewedFrames | None = None) -> None:  # fmt: skip
        super().__init__()
        self.real_root, self.background_root, self.seed = real_root, background_root, seed
        self.reviewed = reviewed or ReviewedFrames()

    def __iter__(self) -> Iterator[Sample]:
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        # Curator-reviewed clocks are real photographs with real hands, the footage the reader serves.
        train = [clock for clock in real_clocks(self.real_root) if clock.split == "train"] + list(self.reviewed.clocks)
        with_hands = [base for clock in train if clock.source != "cv2024-fake-hands" if (base := _base(clock))]
        drawn = [base for clock in train if clock.source == "cv2024-fake-hands" if (base := _base(clock))]
        dials = [dial for clock in train if clock.hands if (dial := _dial(clock))]
        backgrounds = [
            image for path in background_files(self.background_root) if (image := read_rgb(path)) is not None
        ]
        displays = [crop for path, box in self.reviewed.displays if (crop := _display_crop(path, box)) is not None]
        if not (with_hands or drawn) or not backgrounds:
            raise ValueError(
                f"nothing to train on: {len(with_hands) + len(drawn)} real clocks in {self.real_root} "
                f"(training split), {len(backgrounds)} photographs in {self.background_root}"
            )
        kinds, shares = list(MIX), np.array(list(MIX.values()))
        while True:
            source = kinds[int(rng.choice(len(kinds), p=shares / shares.sum()))]
            if source == "real":
                pool = with_hands if with_hands and (rng.random() < REAL_HANDS_SHARE or not drawn) else drawn
                base = pool[int(rng.integers(len(pool)))]
                yield _dial_sample(base, base.hour, base.minute, rng)
            elif source == "repainted" and dials:
                base, hour, minute = repainted(dials[int(rng.integers(len(dials)))], rng)
                yield _dial_sample(base, hour, minute, rng)
            elif source in ("rendered", "repainted"):
                yield rendered_on_photo(rng, backgrounds)
            elif source == "digital" and displays and rng.random() < REVIEWED_DISPLAY_SHARE:
                display = displays[int(rng.integers(len(displays)))]
                yield Sample(_photometric(display, rng), KINDS.index("digital"), -1, -1)
            elif source == "digital":
                sample = reader_sample(rng, INPUT_SIZE, digital_share=1.0)
                yield Sample(sample.image, KINDS.index("digital"), -1, -1)
            else:
                patch = _background_patch(backgrounds, rng, INPUT_SIZE)
                yield Sample(_photometric(patch, rng), KINDS.index("none"), -1, -1)


def _collate(samples: list[Sample]) -> dict[str, torch.Tensor]:
    hour = np.array([sample.hour for sample in samples])
    minute_degrees, hour_degrees, up_degrees = np.array([sample.directions for sample in samples]).T
    soft = lambda degrees, bins, sigma: torch.from_numpy(cyclic_soft_label(degrees * bins / 360, bins, sigma)).float()  # noqa: E731
    return {
        "images": to_tensor([sample.image for sample in samples]),
        "kind": torch.tensor([sample.kind for sample in samples]),
        "dial": torch.from_numpy(hour >= 0),
        "hour": torch.from_numpy(np.maximum(hour, 0)),
        "minute": soft(minute_degrees, MINUTE_BINS, _MINUTE_SIGMA),
        "hour_hand": soft(hour_degrees, HOUR_HAND_BINS, _HOUR_HAND_SIGMA),
        "up": soft(up_degrees, UP_BINS, _UP_SIGMA),
        "squeeze": torch.tensor([sample.squeeze or (0.0, 0.0) for sample in samples], dtype=torch.float32),
        "squeeze_known": torch.tensor([sample.squeeze is not None for sample in samples]),
        "second_hand": torch.from_numpy(np.stack([_second_hand_target(sample) for sample in samples])).float(),
        "second_hand_known": torch.tensor([sample.second_hand_known for sample in samples]),
    }


def _second_hand_target(sample: Sample) -> np.ndarray:
    """hand_net's `second_hand` target: a bump around the hand's direction, or all on the last bin
    (no second hand); zeros where nothing is known (masked out of the loss)."""
    target = np.zeros(SECOND_BINS + 1)
    if sample.second_hand_known and sample.second_hand is None:
        target[-1] = 1.0
    elif sample.second_hand_known:
        target[:-1] = cyclic_soft_label(sample.second_hand * SECOND_BINS / 360, SECOND_BINS, _SECOND_HAND_SIGMA)
    return target


def losses(outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
    kind = nn.functional.cross_entropy(outputs["kind"], batch["kind"])
    dial = batch["dial"]
    if not bool(dial.any()):
        return kind
    soft = lambda key: -(batch[key][dial] * outputs[key][dial].log_softmax(1)).sum(1).mean()  # noqa: E731
    hour = nn.functional.cross_entropy(outputs["hour"][dial], batch["hour"][dial], label_smoothing=0.05)
    total = 0.5 * kind + hour + soft("minute") + soft("hour_hand") + UP_LOSS_WEIGHT * soft("up")
    known = batch["squeeze_known"]
    if "squeeze" in outputs and bool(known.any()):
        total = total + SQUEEZE_LOSS_WEIGHT * nn.functional.smooth_l1_loss(
            outputs["squeeze"][known], batch["squeeze"][known], beta=_SQUEEZE_BETA
        )
    seconds_known = dial & batch["second_hand_known"]
    if "second_hand" in outputs and bool(seconds_known.any()):
        target, logits = batch["second_hand"][seconds_known], outputs["second_hand"][seconds_known]
        total = total + SECOND_HAND_LOSS_WEIGHT * -(target * logits.log_softmax(1)).sum(1).mean()
    return total


@dataclass
class TrainingRecord:
    seed: int
    steps: int
    batch_size: int
    learning_rate: float
    seconds: float
    samples: int
    validation: dict[str, float]
    best_step: int
    width: int = 0
    history: list[dict] = field(default_factory=list)
    initial_checkpoint: str | None = None


def _gpu_loader_workers() -> int:
    """Loader processes beside a GPU: all cores but the one that drives it, at most 12."""
    return max(1, min(12, (os.cpu_count() or 2) - 1))


def _has_head(weights: dict[str, torch.Tensor], head: str) -> bool:
    return f"{head}.weight" in weights


def train_hand_reader(*, real_root: Path, background_root: Path, out: Path, seed: int, steps: int,
                      evaluate: Callable[[HandReaderNet], dict[str, float]], save: Callable[..., None],
                      batch_size: int = 32, learning_rate: float = 6e-4, eval_every: int = 400,
                      initial: Path | None = None, state_path: Path | None = None,
                      reviewed: ReviewedFrames | None = None, new_heads: set[str] | frozenset[str] = frozenset(),
                      device: str | None = None, workers: int | None = None,
                      log: Callable[[str], None] = print) -> TrainingRecord:  # fmt: skip
    """Train for `steps` batches (counting those of the run `initial` continues), keeping the best
    model by `evaluate(model)["top1"]` at `out` and the latest state (weights, optimizer, step;
    about 50 MB, so never beside a committed checkpoint) at `state_path`, by default `out` + `.state`.
    `reviewed`: curator-reviewed frames (real_clocks.reviewed_frames) trained on beside the real clocks.
    A checkpoint `initial` of an older network (without some of hand_net.OPTIONAL_HEADS) is trained
    as that network, or with the `new_heads` named added to it, those starting afresh.
    Trains on `device` (a GPU where there is one), fed by `workers` loader processes (one on a CPU,
    whose cores the network needs; more on a GPU, which the samples' drawing would leave idle)."""
    torch.manual_seed(seed)
    device = device or best_device()
    workers = workers or (1 if device == "cpu" else _gpu_loader_workers())
    state = torch.load(initial, map_location="cpu", weights_only=False) if initial is not None else {}
    resumed = "optimizer" in state  # a run's latest state: continue it
    weights = state["model"] if resumed else state.get("state_dict")
    if weights is not None:
        held = {head for head in OPTIONAL_HEADS if _has_head(weights, head)}
        model = HandReaderNet.with_heads(held if resumed else held | set(new_heads))
    else:
        model = HandReaderNet.with_heads(set(new_heads) or set(OPTIONAL_HEADS))
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    state_path = state_path or out.with_name(out.name + ".state")
    state_path.parent.mkdir(parents=True, exist_ok=True)
    step, best, history, best_step = 0, -1.0, [], 0
    if resumed:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, best, history, best_step = state["step"], state["best"], state["history"], state["best_step"]
    elif weights is not None:  # a saved checkpoint: start from its weights
        missing, unexpected = model.load_state_dict({key: value.float() for key, value in weights.items()},
                                                    strict=False)  # fmt: skip
        if unexpected or any(not key.startswith(tuple(f"{head}." for head in OPTIONAL_HEADS)) for key in missing):
            raise ValueError(f"{initial} does not hold a hand reader: {unexpected or missing}")
    warmup = 200

    def rate(at: int) -> float:
        if at < warmup:
            return (at + 1) / warmup
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, (at - warmup) / max(1, steps - warmup))))

    stream = SampleStream(real_root, background_root, seed + step, reviewed)
    loader = torch.utils.data.DataLoader(stream, batch_size=batch_size, num_workers=workers, collate_fn=_collate,
                                         prefetch_factor=4, pin_memory=device != "cpu")  # fmt: skip
    started, total, seen = time.monotonic(), 0.0, 0
    validation: dict[str, float] = {}
    model.train()
    for batch in loader:
        if step >= steps:
            break
        for group in optimizer.param_groups:
            group["lr"] = learning_rate * rate(step)
        batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
        loss = losses(model(batch["images"]), batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        total += loss.item() * len(batch["kind"])
        seen += len(batch["kind"])
        if step % eval_every == 0 or step == steps:
            model.eval()
            validation = evaluate(model)
            model.train()
            entry = {"step": step, "loss": round(total / max(1, seen), 4), "seconds": round(time.monotonic() - started),
                     **validation}  # fmt: skip
            history.append(entry)
            log(json.dumps(entry))
            total, seen = 0.0, 0
            if validation["top1"] > best:
                best, best_step = validation["top1"], step
                save(model, TrainingRecord(seed, step, batch_size, learning_rate, round(time.monotonic() - started),
                                           step * batch_size, validation, best_step, history=list(history),
                                           initial_checkpoint=str(initial) if initial else None), out)  # fmt: skip
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "best": best,
                        "history": history, "best_step": best_step}, state_path)  # fmt: skip
    record = TrainingRecord(seed, step, batch_size, learning_rate, round(time.monotonic() - started), step * batch_size,
                            validation, best_step, history=history,
                            initial_checkpoint=str(initial) if initial else None)  # fmt: skip
    return record


def real_evaluator(directory: Path) -> Callable[[nn.Module], dict[str, float]]:
    """Scores a model on an eval_reader directory (labels.csv), read as the reader reads (upright,
    turned and mirrored views) and decoded each way: `top1` is the decode the reader uses
    (HAND_DECODE, the minute sharpened by the hand profile as far as that kind of network's reader
    sharpens it), `top1_joint_model_only` the joint decode with the hour head of the network
    alone, `top1_plain` the plain 12 + 60 argmax, `top1_hands` the two hands without the hour
    head; `p_true` is the mean probability the reader's decode of the network alone gives the
    true time within a minute. Top1 on 134 photos
    moves by 0.0075 a photo; p_true moves smoothly, so it ranks runs that top1 cannot tell apart
    (models/README.md)."""
    from pipeline.clock_time import minutes_apart
    from pipeline.labels import read_labels

    rows = [row for row in read_labels(directory) if row.hour is not None and row.minute is not None]
    crops = []
    for row in rows:
        image = read_rgb(directory / row.file)
        crops.append(crop_clock(image if image is not None else np.zeros((1, 1, 3), np.uint8),
                                Box(*row.box) if row.box else None, INPUT_SIZE))  # fmt: skip

    def evaluate(model: nn.Module) -> dict[str, float]:
        reader = ClockReader(None, model=model)
        outputs = reader.hand_probabilities(crops)
        # Each row's heads, as hand_reading takes them.
        heads = [{name: value[index] for name, value in outputs.items()} for index in range(len(rows))]
        scores: dict[str, float] = {"n": len(rows)}
        # "top1" is read as the reader reads (HAND_DECODE); the others are there to compare.
        variants = ((HAND_DECODE, True, "top1"), ("joint", False, "top1_joint_model_only"),
                    ("plain", False, "top1_plain"), ("hands", False, "top1_hands"))  # fmt: skip
        for decode, with_geometry, key in variants:
            right = 0
            for row, probabilities, crop in zip(rows, heads, crops, strict=True):
                reading = hand_reading(probabilities, decode, crop if with_geometry else None, reader.geometry_weight)
                right += minutes_apart(row.hour, row.minute, reading.hour, reading.minute) <= 1
            scores[key] = round(right / max(1, len(rows)), 4)
        true_mass = []
        for row, probabilities in zip(rows, heads, strict=True):
            posterior = hand_time_posterior(probabilities, probabilities["minute"])
            true_mass.append(within_a_minute(posterior, (row.hour % 12) * 60 + row.minute))
        scores["p_true"] = round(float(np.mean(true_mass)) if true_mass else 0.0, 4)
        return scores

    return evaluate
