"""Tiled inference: small clocks found by looking at overlapping parts of a frame at full size.

A COCO detector sees a frame shrunk to its input (416 px for NanoDet-m): a 30 px clock on a
1280 px frame becomes 10 px, below what it finds. Each frame is also cut into a grid of
overlapping tiles, each given to the same detector. A tile's box that touches one of the tile's
inner edges is a clock cut in two and is dropped (the overlap or the whole frame holds it
entire); the rest are merged with the whole frame's boxes by NMS, and a box lying mostly inside
a surer one (a numeral, the hub) goes too.

It costs one forward pass per tile: measured in models/README.md, it lifts the recall of real dials
under 40 px five-fold, but on 2 CPU cores the scan runs at a quarter of its speed. So it is on by
default only on a GPU, where the passes batch (CLOCKWEB_DETECTOR_TILES, e.g. "3x2" or "off").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.geometry import Box, not_contained
from pipeline.scan.detector import FoundClock, WrappingDetector, clock_boxes

TILE_OVERLAP = 0.25  # of a tile's side: a clock up to this size lies whole in some tile
EDGE_MARGIN = 2.0  # px: a box this close to an inner tile edge was cut by it
MERGE_IOU = 0.5
CONTAINED_FRACTION = 0.8


@dataclass(frozen=True)
class Tile:
    x: int
    y: int
    width: int
    height: int


def tile_grid(width: int, height: int, columns: int, rows: int, overlap: float = TILE_OVERLAP) -> list[Tile]:
    """`columns` x `rows` tiles covering a frame, neighbours sharing `overlap` of a tile's side."""

    def spans(length: int, count: int) -> list[tuple[int, int]]:
        side = length / (count - (count - 1) * overlap) if count > 1 else float(length)
        step = side * (1 - overlap)
        return [(round(index * step), min(length, round(index * step + side))) for index in range(count)]

    return [Tile(x0, y0, x1 - x0, y1 - y0) for y0, y1 in spans(height, rows) for x0, x1 in spans(width, columns)]


def _cut_by_inner_edge(box: Box, tile: Tile, width: int, height: int) -> bool:
    """Whether a box in the tile's pixels touches an edge of the tile that is not the frame's."""
    left, top = box.x, box.y
    right, bottom = left + box.width, top + box.height
    return (
        (tile.x > 0 and left <= EDGE_MARGIN)
        or (tile.y > 0 and top <= EDGE_MARGIN)
        or (tile.x + tile.width < width and right >= tile.width - EDGE_MARGIN)
        or (tile.y + tile.height < height and bottom >= tile.height - EDGE_MARGIN)
    )


def merge(clocks: list[FoundClock]) -> list[FoundClock]:
    """One box per clock: NMS (torchvision's), then boxes mostly inside a surer one dropped."""
    # Imported here: the detector choice (and with it this module) is read by web processes for
    # /healthz, which never load torch.
    import torch
    from torchvision.ops import nms

    if len(clocks) < 2:
        return clocks
    boxes = clock_boxes(clocks)
    scores = np.array([c.confidence for c in clocks], np.float32)
    kept = nms(torch.from_numpy(boxes), torch.from_numpy(scores), MERGE_IOU).numpy()
    survivors = not_contained(boxes[kept], scores[kept], fraction=CONTAINED_FRACTION)
    return [clocks[int(kept[index])] for index in survivors]


@dataclass
class TiledDetector(WrappingDetector):
    """`inner` over each whole frame and its tiles; the same interface as the detectors it wraps."""

    inner: object
    columns: int
    rows: int

    @property
    def wrapped(self) -> object:
        return self.inner

    def find(self, frames: list[np.ndarray]) -> list[list[FoundClock]]:
        if not frames:
            return []
        found = [list(clocks) for clocks in self.inner.find(frames)]
        pieces: list[np.ndarray] = []
        owners: list[tuple[int, Tile]] = []
        for index, frame in enumerate(frames):
            height, width = frame.shape[:2]
            for tile in tile_grid(width, height, self.columns, self.rows):
                pieces.append(np.ascontiguousarray(frame[tile.y : tile.y + tile.height, tile.x : tile.x + tile.width]))
                owners.append((index, tile))
        for (index, tile), clocks in zip(owners, self.inner.find(pieces), strict=True):
            height, width = frames[index].shape[:2]
            for clock in clocks:
                if _cut_by_inner_edge(clock.box, tile, width, height):
                    continue
                box = Box(clock.box.x + tile.x, clock.box.y + tile.y, clock.box.width, clock.box.height)
                found[index].append(FoundClock(box, clock.confidence))
        return [merge(clocks) for clocks in found]
