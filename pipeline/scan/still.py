"""Reading the clock in a still picture: one that comes without its box (eval_reader's rows with no
bbox, read_clock without --bbox), and one whose box was drawn by hand, loosely.

The picture may be the clock itself, cropped close, or a scene with a clock somewhere in it. The
detector tells them apart badly on its own: on close crops it finds the dial (or a sub-dial, or
a numeral) and its box reads worse than the whole picture. So both are read, and the detector's
box is taken only where it is clearly smaller than the picture and read more surely.

Measured on the real validation split with NanoDet-m and run 15 (models/README.md): the 56
scenes with their boxes withheld read 34 of 56 whole and 45 with this rule (48 with the labelled
boxes); the 78 close crops 66 whole, 66 with the rule, 56 with the detector's box alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.geometry import Box
from pipeline.read.reader import Reading
from pipeline.scan.detector import FoundClock

# The detector's box is a candidate only where it covers less than this share of the picture...
MAX_BOX_SHARE = 0.6
# ...and is kept only where its reading is surer than the whole picture's by this much.
SURER_BY = 0.05
# A box someone drew may hold the whole clock (a case, a tower, a pendulum) where the reader was
# trained on boxes around the dial: it reads worse the looser the box (real split's 56 boxes made
# 1.4 / 1.7 / 2 times larger: 40 / 29 / 21 of 56 right, 48 as labelled). The box is also read
# zoomed in on its centre, and a zoomed reading of the same kind kept where it is surer by
# SURER_BY: 48 / 48 / 44 of 56, and 48 as labelled (zooms 1 and 0.75 alone: 47 / 44 / 35, 49).
# Only dials are zoomed in on: zooming into a display cuts off its outer digits, and the rest
# can read as another time more surely (the plain renderer's boxed "01:54" read 11:54 by OCR at
# 0.985 zoomed in). Its 184 displays, 87 of them boxed, read 0.962 -> 0.967 unzoomed, none lost.
BOX_ZOOMS = (0.75, 0.55)

FindClocks = Callable[[list[np.ndarray]], list[list[FoundClock]]]
ReadClocks = Callable[[list[np.ndarray], list[Box | None]], list[Reading]]


@dataclass(frozen=True)
class StillReading:
    box: Box | None  # None: the whole picture was read
    reading: Reading


def smaller_boxes(clocks: Sequence[FoundClock], width: int, height: int) -> list[Box]:
    """The found clocks' boxes clearly smaller than the picture (MAX_BOX_SHARE), surest first."""
    surest_first = sorted(clocks, key=lambda clock: -clock.confidence)
    return [clock.box for clock in surest_first if clock.box.width * clock.box.height < MAX_BOX_SHARE * width * height]


def candidate_box(clocks: Sequence[FoundClock], width: int, height: int) -> Box | None:
    """The surest found clock that is clearly smaller than the picture, if any."""
    return next(iter(smaller_boxes(clocks, width, height)), None)


def read_stills(find: FindClocks, read: ReadClocks, images: list[np.ndarray]) -> list[StillReading]:
    """One reading per picture: of the detector's box where the rule above keeps it, else of the whole."""
    if not images:
        return []
    candidates = [candidate_box(found, image.shape[1], image.shape[0])
                  for found, image in zip(find(images), images, strict=True)]  # fmt: skip
    wholes = read(images, [None] * len(images))
    boxed = [index for index, box in enumerate(candidates) if box is not None]
    in_boxes = dict(zip(boxed, read([images[i] for i in boxed], [candidates[i] for i in boxed]), strict=True))
    stills = []
    for index, whole in enumerate(wholes):
        in_box = in_boxes.get(index)
        if in_box is not None and in_box.confidence > whole.confidence + SURER_BY:
            stills.append(StillReading(candidates[index], in_box))
        else:
            stills.append(StillReading(None, whole))
    return stills


def read_still_clocks(find: FindClocks, read: ReadClocks, image: np.ndarray) -> list[StillReading]:
    """Every clock in one picture (read_clock without --bbox): each found box clearly smaller than
    the picture that reads surer than the whole picture, surest box first; else the whole picture."""
    boxes = smaller_boxes(find([image])[0], image.shape[1], image.shape[0])
    whole, *in_boxes = read([image] * (1 + len(boxes)), [None, *boxes])
    kept = [StillReading(box, reading) for box, reading in zip(boxes, in_boxes, strict=True)
            if reading.confidence > whole.confidence + SURER_BY]  # fmt: skip
    return kept or [StillReading(None, whole)]


def _zoomed(box: Box, zoom: float) -> Box:
    width, height = box.width * zoom, box.height * zoom
    return Box(box.x + (box.width - width) / 2, box.y + (box.height - height) / 2, width, height)


def read_in_boxes(read: ReadClocks, images: list[np.ndarray], boxes: list[Box]) -> list[Reading]:
    """Each clock read in its given box, or, for a dial, zoomed in on the box's centre where that
    reads a dial more surely (BOX_ZOOMS): what a loosely drawn box needs."""
    best = read(images, list(boxes))
    dials = [index for index, reading in enumerate(best) if reading.kind == "analog"]
    if not dials:
        return best
    for zoom in BOX_ZOOMS:
        zoomed = read([images[index] for index in dials], [_zoomed(boxes[index], zoom) for index in dials])
        for index, closer in zip(dials, zoomed, strict=True):
            if closer.kind == "analog" and closer.confidence > best[index].confidence + SURER_BY:
                best[index] = closer
    return best


def read_labelled(find: FindClocks | None, read: ReadClocks, images: list[np.ndarray],
                  boxes: list[Box | None]) -> list[Reading]:  # fmt: skip
    """One reading per labelled picture, as eval_reader reads them: a given box by read_in_boxes,
    a picture without one by read_stills (or whole, where no detector can be had)."""
    readings: dict[int, Reading] = {}
    boxed = [index for index, box in enumerate(boxes) if box is not None]
    if boxed:
        given = read_in_boxes(read, [images[index] for index in boxed], [boxes[index] for index in boxed])
        readings.update(zip(boxed, given, strict=True))
    unboxed = [index for index, box in enumerate(boxes) if box is None]
    if unboxed:
        pictures = [images[index] for index in unboxed]
        if find is None:
            whole = read(pictures, [None] * len(pictures))
        else:
            whole = [still.reading for still in read_stills(find, read, pictures)]
        readings.update(zip(unboxed, whole, strict=True))
    return [readings[index] for index in range(len(images))]
