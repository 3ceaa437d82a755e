"""Shared by every stage: a box in pixels, and the device a model runs on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """A rectangle in pixels, from its top-left corner."""

    x: float
    y: float
    width: float
    height: float

    def __post_init__(self) -> None:
        if self.width < 0 or self.height < 0:
            raise ValueError(f"a box cannot have a negative size: {self.width} x {self.height}")

    @property
    def area(self) -> float:
        return self.width * self.height

    def iou(self, other: Box) -> float:
        """Intersection over union: 1 for the same box, 0 for boxes that do not overlap."""
        overlap_width = min(self.x + self.width, other.x + other.width) - max(self.x, other.x)
        overlap_height = min(self.y + self.height, other.y + other.height) - max(self.y, other.y)
        if overlap_width <= 0 or overlap_height <= 0:
            return 0.0
        intersection = overlap_width * overlap_height
        return intersection / (self.area + other.area - intersection)


def best_device() -> str:
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


def inside_fraction(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For boxes (N, 4) and others (M, 4), both x0, y0, x1, y1: the share of each box's area that
    lies inside each other box, (N, M)."""
    if len(boxes) == 0 or len(others) == 0:
        return np.zeros((len(boxes), len(others)))
    width = np.minimum(boxes[:, None, 2], others[None, :, 2]) - np.maximum(boxes[:, None, 0], others[None, :, 0])
    height = np.minimum(boxes[:, None, 3], others[None, :, 3]) - np.maximum(boxes[:, None, 1], others[None, :, 1])
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return np.clip(width, 0, None) * np.clip(height, 0, None) / (area[:, None] + 1e-9)


def not_contained(boxes: np.ndarray, scores: np.ndarray, *, fraction: float = 0.8) -> np.ndarray:
    """Indices (in their original order) of the boxes that do not lie mostly (`fraction` of their
    area) inside a box with a higher score. NMS keeps these, since their IoU with the big box is
    small: a numeral or the hub found inside a dial."""
    inside = inside_fraction(boxes, boxes)
    kept: list[int] = []
    for index in np.argsort(-scores, kind="stable"):
        if not any(inside[index, other] >= fraction for other in kept):
            kept.append(int(index))
    return np.array(sorted(kept), dtype=int)
