"""The ultralytics adapter: the only module that imports ultralytics. Finds clocks in frames, and trains YOLO.

Weights come from a path or a standard name. The COCO weights (`yolo11n.pt`, downloaded by
ultralytics on a machine with internet) know 80 classes, of which 74 is `clock`; clockweb's own
checkpoint knows one class, 0 `clock`. Which one is used is read from the checkpoint's names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.geometry import Box, best_device

COCO_CLOCK_CLASS = 74
# Ultralytics would otherwise try to reach its hub and download fonts for plots.
os.environ.setdefault("YOLO_OFFLINE", "1")


def _import_yolo() -> type:
    """ultralytics' YOLO, without its run-time patch of PIL.Image.open: that patch pip-installs a
    HEIF plugin the first time any code in the process opens a file Pillow can't identify (an
    upload that is not an image, say). clockweb never installs packages while it runs."""
    from PIL import Image
    from ultralytics import YOLO
    from ultralytics.utils import patches

    Image.open = patches._image_open
    return YOLO


@dataclass(frozen=True)
class FoundClock:
    box: Box
    confidence: float


def clock_boxes(clocks: list[FoundClock]) -> np.ndarray:
    """The clocks' boxes as an (N, 4) array of x0, y0, x1, y1: what NMS and overlap tests take."""
    return np.array([[c.box.x, c.box.y, c.box.x + c.box.width, c.box.y + c.box.height] for c in clocks],
                    np.float32).reshape(-1, 4)  # fmt: skip


class WrappingDetector:
    """For a detector built around another (`wrapped`): its device, threshold and input size are
    the wrapped one's."""

    @property
    def wrapped(self) -> object:
        raise NotImplementedError

    @property
    def device(self) -> str:
        return self.wrapped.device

    @property
    def confidence(self) -> float:
        return self.wrapped.confidence

    @property
    def image_size(self) -> int:
        return self.wrapped.image_size


class ClockDetector:
    """A YOLO model loaded once, that finds clocks in batches of RGB frames."""

    def __init__(self, weights: str | Path, *, device: str | None = None, confidence: float = 0.25,
                 image_size: int = 640) -> None:  # fmt: skip
        self.model = _import_yolo()(str(weights), task="detect")
        self.device = device or best_device()
        self.half = self.device.startswith("cuda")
        self.confidence = confidence
        self.image_size = image_size
        names: dict[int, str] = self.model.names
        clock_classes = [index for index, name in names.items() if name == "clock"]
        if not clock_classes:
            raise ValueError(f"{weights} has no 'clock' class (it knows: {', '.join(list(names.values())[:10])}, …)")
        self.clock_class = clock_classes[0]

    def find(self, frames: list[np.ndarray]) -> list[list[FoundClock]]:
        """Clocks in each RGB frame, as boxes in that frame's pixels."""
        if not frames:
            return []
        # Ultralytics takes numpy images as BGR, like OpenCV.
        # fp16 on CUDA only; the option is not passed at all on the CPU.
        precision = {"half": True} if self.half else {}
        results = self.model.predict(
            [frame[..., ::-1] for frame in frames],
            imgsz=self.image_size,
            conf=self.confidence,
            classes=[self.clock_class],
            device=self.device,
            verbose=False,
            **precision,
        )
        found = []
        for result in results:
            boxes = result.boxes
            xyxy = boxes.xyxy.cpu().numpy()
            scores = boxes.conf.cpu().numpy()
            found.append(
                [
                    FoundClock(Box(float(x0), float(y0), float(x1 - x0), float(y1 - y0)), float(score))
                    for (x0, y0, x1, y1), score in zip(xyxy, scores, strict=True)
                ]
            )
        return found


def train(*, data_yaml: Path, model_yaml: Path, epochs: int, image_size: int, batch: int, seed: int,
          run_dir: Path, workers: int = 2, device: str | None = None,
          initial: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """Train a YOLO detector on a rendered data set, from scratch or on from `initial` weights;
    returns ultralytics' metrics and the best weights."""
    YOLO = _import_yolo()

    model = YOLO(str(initial or model_yaml), task="detect")
    results = model.train(
        data=str(data_yaml),
        epochs=epochs,
        imgsz=image_size,
        batch=batch,
        seed=seed,
        deterministic=True,
        workers=workers,
        device=device or best_device(),
        project=str(run_dir.parent.resolve()),
        name=run_dir.name,
        exist_ok=True,
        pretrained=initial is not None,
        plots=False,
        amp=False,
        verbose=False,
        # The renderer already varies colour, light and perspective; keep ultralytics' own
        # geometric augmentation mild, and no left-right flips (they mirror clock faces).
        fliplr=0.0,
        mosaic=0.5,
        close_mosaic=max(1, epochs // 5),
    )
    best = run_dir / "weights" / "best.pt"
    metrics = {key: round(float(value), 4) for key, value in (results.results_dict or {}).items()}
    return {"weights": str(best), "metrics": metrics}


COCO_WEIGHTS = "yolo11n.pt"


def coco_weights(cache_dir: Path, *, download: bool = True) -> Path:
    """COCO `yolo11n.pt`: from `cache_dir`, or ultralytics' own weights folder, or downloaded by
    ultralytics into `cache_dir` (not the working directory, where it would otherwise land).
    FileNotFoundError says why it cannot be had."""
    _import_yolo()  # first: importing ultralytics patches PIL, which this undoes
    from ultralytics.utils import SETTINGS
    from ultralytics.utils.downloads import attempt_download_asset

    cached = [cache_dir / COCO_WEIGHTS, Path(SETTINGS["weights_dir"]) / COCO_WEIGHTS]
    for path in cached:
        if path.is_file():
            return path
    if not download:
        raise FileNotFoundError(f"{COCO_WEIGHTS} is not cached (looked in {', '.join(map(str, cached))})")
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        return Path(attempt_download_asset(str(cache_dir / COCO_WEIGHTS)))
    except Exception as error:  # ultralytics raises ConnectionError, or anything else its download meets
        raise FileNotFoundError(f"{COCO_WEIGHTS} is not cached and could not be downloaded ({error})") from error
