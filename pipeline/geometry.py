"""Shared by every stage: a box in pixels, and the device a model runs on."""

from __future__ import annotations

from dataclasses import dataclass


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
