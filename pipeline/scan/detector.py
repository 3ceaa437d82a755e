"""The ultralytics adapter: the only module that imports ultralytics. Finds clocks in frames, and trains YOLO.

Weights come from a path or a standard name. The COCO weights (`yolo11n.pt`, downloaded by
ultralytics on a machine with internet) know 80 classes, of which 74 is `clock`; clockweb's own
checkpoint knows one class, 0 `clock`. Which one is used is read from the checkpoint's names.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.geometry import Box, best_device
from pipeline.onnx_files import file_sha256, marked_source, save_marked

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


@contextmanager
def _quiet_ultralytics() -> Iterator[None]:
    """Ultralytics' info lines (which runtime loads which file) go to stdout, where the
    benchmarks print their one JSON object; its warnings and errors still show."""
    log = logging.getLogger("ultralytics")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


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


# The metadata key of an ONNX export that names the checkpoint it was made from (its sha256).
ONNX_SOURCE_KEY = "clockweb_source_sha256"


def export_onnx(weights: str | Path, out: str | Path) -> Path:
    """The YOLO checkpoint exported by ultralytics to ONNX at `out` (any batch and input size),
    marked with the checkpoint it came from: on a CPU onnxruntime runs clockweb's own detector in
    about half torch's time, with the same boxes (bench/scan.py; tests/pipeline/test_detector_onnx.py)."""
    weights, out = Path(weights), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Ultralytics writes the export beside the checkpoint: work on a copy, away from models/.
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "detector.pt"
        shutil.copyfile(weights, copy)
        exported = _import_yolo()(str(copy), task="detect").export(format="onnx", dynamic=True, simplify=False,
                                                                   imgsz=320, verbose=False)  # fmt: skip
        return save_marked(Path(exported), out, ONNX_SOURCE_KEY, weights)


def current_onnx_export(weights: str | Path, export: str | Path | None) -> Path | None:
    """`export` where it exists and was made from `weights` as they are now, else None."""
    if export is None or marked_source(export, ONNX_SOURCE_KEY) != file_sha256(weights):
        return None
    return Path(export)


class ClockDetector:
    """A YOLO model loaded once, that finds clocks in batches of RGB frames. On a CPU it runs the
    checkpoint's ONNX export (`onnx_export`, see export_onnx) through onnxruntime when that export
    is current, and the checkpoint through torch otherwise (`runtime` says which)."""

    def __init__(self, weights: str | Path, *, device: str | None = None, confidence: float = 0.25,
                 image_size: int = 640, onnx_export: str | Path | None = None) -> None:  # fmt: skip
        self.device = device or best_device()
        export = current_onnx_export(weights, onnx_export) if self.device == "cpu" else None
        self.runtime = "onnxruntime" if export is not None else "torch"
        yolo = _import_yolo()  # before quieting: importing ultralytics sets its logger's level
        with _quiet_ultralytics():  # an ONNX file is loaded when its names are first asked for
            self.model = yolo(str(export or weights), task="detect")
            names: dict[int, str] = self.model.names
        self.half = self.device.startswith("cuda")
        self.confidence = confidence
        self.image_size = image_size
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
        with _quiet_ultralytics():  # the first call loads the runtime
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


def main(argv: list[str] | None = None) -> int:
    import argparse

    description = "Export clockweb's own YOLO detector to ONNX for the CPU."
    parser = argparse.ArgumentParser(prog="python -m pipeline.scan.detector", description=description)
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export-onnx", help="export a checkpoint (done by make install)")
    export.add_argument("weights", type=Path)
    export.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if current_onnx_export(args.weights, args.out) is not None:
        print(f"{args.out} is current")
        return 0
    print(f"exported {args.weights} to {export_onnx(args.weights, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
