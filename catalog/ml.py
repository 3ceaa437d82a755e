"""The one place that loads the models named in settings, once per process: the clock detector
(the best that can be had, and why), the clock reader, and the scene embedder.

Nothing here loads at import, and never in a forking parent: workers and commands load on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:  # torch and friends; web processes never need them
    from pipeline.read.reader import ClockReader
    from pipeline.scan.choice import Detector, DetectorChoice
    from pipeline.search.embedder import ClipEmbedder


logger = logging.getLogger(__name__)


class ScanUnavailable(RuntimeError):
    """The scan models cannot be loaded; the message says which and how to get them."""


def _loaded(what: str, path: str, command: str, variable: str, load: Callable[[], object]) -> object:
    try:
        return load()
    except Exception as error:
        raise ScanUnavailable(
            f"cannot load the clock {what} {path} ({type(error).__name__}: {error}); "
            f"train one with `manage.py {command}` or set {variable}"
        ) from error


@cache
def _detector(forced: str | None, device: str, confidence: float | None, image_size: int | None,
              own: str, nanodet: str, cache_dir: str, tiles: tuple[int, int] | None,
              tiles_only_on_gpu: bool) -> tuple[Detector, DetectorChoice]:  # fmt: skip
    from pipeline.geometry import best_device
    from pipeline.scan.choice import choose_detector

    # The reader checks the boxes the second look adds; a reader that cannot load leaves the
    # COCO detector alone (the scan itself then stops on the reader, saying why).
    try:
        no_clock = clock_reader().no_clock_probabilities
    except ScanUnavailable:
        no_clock = None
    if tiles_only_on_gpu and not (device if device != "auto" else best_device()).startswith("cuda"):
        tiles = None
    detector, choice = choose_detector(forced=forced, cache_dir=Path(cache_dir), nanodet_weights=Path(nanodet),
                                       own_weights=Path(own), device=None if device == "auto" else device,
                                       confidence=confidence, image_size=image_size, no_clock=no_clock,
                                       tiles=tiles)  # fmt: skip
    logger.info("%s%s", choice.describe(), "".join(f"; passed over {reason}" for reason in choice.passed_over))
    return detector, choice


def clock_detector(*, confidence: float | None = None) -> tuple[Detector, DetectorChoice]:
    """The detector settings name (the best that can be had by default) and why it was chosen."""
    wanted = settings.DETECTOR_WEIGHTS or "the default detectors"
    return _loaded("detector", wanted, "train_detector", "CLOCKWEB_DETECTOR_WEIGHTS",
                   lambda: _detector(settings.DETECTOR_WEIGHTS, settings.DEVICE,
                                     confidence or settings.DETECTOR_CONFIDENCE, settings.DETECTOR_IMAGE_SIZE,
                                     settings.OWN_DETECTOR_WEIGHTS, settings.NANODET_WEIGHTS,
                                     str(settings.DETECTOR_CACHE_DIR),
                                     settings.DETECTOR_TILES,
                                     settings.DETECTOR_TILES_AUTO))  # type: ignore[return-value]  # fmt: skip


def planned_detector() -> DetectorChoice:
    """Which detector a scan would use, judged from the files alone (for /healthz: no torch)."""
    from pipeline.scan.choice import planned_detector as plan

    return plan(forced=settings.DETECTOR_WEIGHTS, cache_dir=Path(settings.DETECTOR_CACHE_DIR),
                nanodet_weights=Path(settings.NANODET_WEIGHTS),
                own_weights=Path(settings.OWN_DETECTOR_WEIGHTS))  # fmt: skip


def clock_reader() -> ClockReader:
    from pipeline.read.reader import load_reader

    return _loaded("reader", settings.READER_WEIGHTS, "train_reader", "CLOCKWEB_READER_WEIGHTS",
                   lambda: load_reader(settings.READER_WEIGHTS, settings.DEVICE,
                                       settings.DISPLAY_READER_WEIGHTS))  # type: ignore[return-value]  # fmt: skip


def scan_models() -> tuple[Detector, ClockReader]:
    """The detector and reader named in settings, loaded once per process."""
    detector, _ = clock_detector()
    return detector, clock_reader()


def scene_embedder() -> ClipEmbedder:
    """The CLIP embedder named in settings, loaded once per process (EmbedderUnavailable if it can't be)."""
    from pipeline.search.embedder import load_embedder

    return load_embedder(settings.CLIP_MODEL, settings.CLIP_PRETRAINED, settings.CLIP_CHECKPOINT, settings.DEVICE)


def models_forget() -> None:
    """Drop the loaded detector (settings changed: tests, or a shell)."""
    _detector.cache_clear()
