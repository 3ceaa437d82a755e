"""The open_clip adapter: the only module that imports open_clip. Images and texts in, unit
vectors (float32, EMBEDDING_DIMENSIONS wide) out, so that cosine distance compares them. Where
CLIP cannot be had, the offline embedder (pipeline.search.imagenet) serves instead.

The model comes from settings: an open_clip name and pretrained tag (ViT-B-32 /
laion2b_s34b_b79k by default, which open_clip downloads on a machine with internet), or a local
checkpoint file. `clockweb-tiny-clip` (pipeline/search/clip_configs/) is a tiny randomly initialised
model with the same interface, for tests of the plumbing only: its vectors mean nothing.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

EMBEDDING_DIMENSIONS = 512
TINY_MODEL = "clockweb-tiny-clip"
_CONFIGS = Path(__file__).resolve().parent / "clip_configs"


class EmbedderUnavailable(RuntimeError):
    """The CLIP model cannot be loaded; the message says which and what to do."""


@dataclass(frozen=True)
class EmbedderSpec:
    model: str  # an open_clip model name, e.g. ViT-B-32
    pretrained: str | None  # an open_clip pretrained tag, or None
    checkpoint: str | None = None  # a local weights file, used instead of the tag

    @property
    def name(self) -> str:
        """What the vectors are stored under: vectors of different models don't compare."""
        weights = f"file:{Path(self.checkpoint).name}" if self.checkpoint else (self.pretrained or "random-init")
        return f"{self.model}/{weights}"[:128]


class ClipEmbedder:
    dimensions = EMBEDDING_DIMENSIONS
    kind = "clip"

    def __init__(self, spec: EmbedderSpec, *, device: str | None = None, batch_size: int = 64) -> None:
        if spec.pretrained and not spec.checkpoint and not online():
            # Weights already in the local cache still load; missing ones fail at once instead of
            # after the hub client's retries. (Read when huggingface_hub is first imported.)
            os.environ["HF_HUB_OFFLINE"] = "1"
        import open_clip
        import torch

        open_clip.add_model_config(_CONFIGS)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        precision = "fp16" if self.device.startswith("cuda") else "fp32"
        try:
            model, _, _ = open_clip.create_model_and_transforms(
                spec.model, pretrained=spec.checkpoint or spec.pretrained, device=self.device, precision=precision
            )
        except Exception as error:
            raise EmbedderUnavailable(
                f"cannot load the CLIP model {spec.name} ({type(error).__name__}: {error}); with no internet, "
                "point CLIP_CHECKPOINT at a local open_clip weights file"
            ) from error
        model.eval()
        self.model = model
        self.spec = spec
        self.batch_size = batch_size
        self.tokenizer = open_clip.get_tokenizer(spec.model)
        visual = model.visual
        size = visual.image_size
        self.image_size = size[0] if isinstance(size, tuple | list) else int(size)
        config = getattr(visual, "preprocess_cfg", {}) or {}
        self.mean = np.array(config.get("mean", (0.48145466, 0.4578275, 0.40821073)), np.float32)
        self.std = np.array(config.get("std", (0.26862954, 0.26130258, 0.27577711)), np.float32)

    @property
    def name(self) -> str:
        return self.spec.name

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        """Resize the short side to the model's size and crop the centre, as CLIP's preprocessing does."""
        height, width = image.shape[:2]
        scale = self.image_size / min(height, width)
        target = (max(self.image_size, round(width * scale)), max(self.image_size, round(height * scale)))
        resized = cv2.resize(image, target, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        top = (resized.shape[0] - self.image_size) // 2
        left = (resized.shape[1] - self.image_size) // 2
        crop = resized[top : top + self.image_size, left : left + self.image_size].astype(np.float32) / 255.0
        return ((crop - self.mean) / self.std).transpose(2, 0, 1)

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        """Unit vectors for RGB uint8 images of any size."""
        import torch

        out = []
        for start in range(0, len(images), self.batch_size):
            batch = np.stack([self._prepare(image) for image in images[start : start + self.batch_size]])
            tensor = torch.from_numpy(batch).to(self.device, dtype=next(self.model.parameters()).dtype)
            with torch.no_grad():
                out.append(self.model.encode_image(tensor).float().cpu().numpy())
        return _unit(np.concatenate(out) if out else np.zeros((0, EMBEDDING_DIMENSIONS), np.float32))

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Unit vectors for texts (cut to the model's context length)."""
        import torch

        out = []
        for start in range(0, len(texts), self.batch_size):
            tokens = self.tokenizer(texts[start : start + self.batch_size]).to(self.device)
            with torch.no_grad():
                out.append(self.model.encode_text(tokens).float().cpu().numpy())
        return _unit(np.concatenate(out) if out else np.zeros((0, EMBEDDING_DIMENSIONS), np.float32))


def weights_cached(model: str, pretrained: str | None) -> bool:
    """Whether open_clip's weights for this model and tag lie in the Hugging Face cache (a machine
    that downloaded them once can load them offline). Judged from the cache's folder names
    (models--laion--CLIP-ViT-B-32-laion2B-s34B-b79K), without importing open_clip."""
    if not pretrained:
        return False
    home = Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface")
    hub = Path(os.environ.get("HF_HUB_CACHE") or home / "hub")
    wanted = (model.lower(), pretrained.lower().replace("_", "-"))
    return any(all(part in folder.name.lower() for part in wanted) for folder in hub.glob("models--*"))


@cache
def online(host: str = "huggingface.co") -> bool:
    """Whether the model hub's name resolves (asked once per process)."""
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


_failures: dict[tuple, EmbedderUnavailable] = {}


def load_embedder(model: str, pretrained: str | None, checkpoint: str | None, device: str = "auto") -> ClipEmbedder:
    """One embedder per process, loaded on first use (never at import, never in a forking parent).
    A model that could not be loaded is not tried again by this process: offline, every try
    would wait for the download to fail."""
    key = (model, pretrained, checkpoint, device)
    if key in _failures:
        raise _failures[key]
    try:
        return _load(*key)
    except EmbedderUnavailable as failure:
        _failures[key] = failure
        raise


@cache
def _load(model: str, pretrained: str | None, checkpoint: str | None, device: str) -> ClipEmbedder:
    return ClipEmbedder(EmbedderSpec(model, pretrained, checkpoint), device=None if device == "auto" else device)
