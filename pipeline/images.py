"""Still images read from files, one way for every stage, command and bench: RGB, 8 bits, three
channels (an alpha channel is dropped, a grey image spread to three), or None where the file is no
image OpenCV can decode. OpenCV reads BGR; the pipeline's arrays are RGB, so the swap lives here."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def read_rgb(path: str | Path) -> np.ndarray | None:
    """The image at `path` as an H x W x 3 RGB array, or None when it cannot be read (missing,
    truncated, not an image)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class UnreadableImage(ValueError):
    """A file that should be an image and is not one OpenCV can decode."""


def load_rgb(path: str | Path) -> np.ndarray:
    """The image at `path` as read_rgb reads it, for callers that cannot go on without it: a file
    that is no readable image raises UnreadableImage naming it."""
    image = read_rgb(path)
    if image is None:
        raise UnreadableImage(f"{path}: not an image that can be read")
    return image
