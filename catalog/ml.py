"""The one place that loads the models named in settings, once per process: the clock detector
(the best that can be had, and why), the clock reader, and the scene embedder (CLIP when it
loads, else the offline ImageNet embedder, and why), with the COCO detector that tags offline.

Nothing here loads at import, and never in a forking parent: workers and commands load on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:  # torch and friends: loaded on first use, never at import
    from pipeline.read.reader import ClockReader
    from pipeline.scan.choice import Detector, DetectorChoice
    from pipeline.scan.nanodet import NanoDetDetector
    from pipeline.search.concepts import Vocabulary
    from pipeline.search.embedder import ClipEmbedder
    from pipeline.search.imagenet import ImageNetEmbedder


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
              tiles_only_on_gpu: bool, own_onnx: str) -> tuple[Detector, DetectorChoice]:  # fmt: skip
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
                                       tiles=tiles, own_onnx=Path(own_onnx))  # fmt: skip
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
                                     settings.DETECTOR_TILES_AUTO,
                                     settings.OWN_DETECTOR_ONNX))  # type: ignore[return-value]  # fmt: skip


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


# What each embedder gives that the other does not: said on /healthz and the search page.
_CLIP_ADDS = (
    "CLIP would add open-vocabulary search (any words, not only the ImageNet and COCO concepts), "
    "tags from the curated vocabulary, and AM/PM proposals from day or night in the scene"
)
_IMAGENET_ADDS = ("the offline embedder (ImageNet + COCO concepts) would need no download; "
                  "it serves when CLIP cannot be loaded")  # fmt: skip


@dataclass(frozen=True)
class SearchChoice:
    """Which embedder serves search, tags and appearances, and why; what the other would add."""

    kind: str  # "clip" | "imagenet"
    model: str  # the name its vectors are stored under
    why: str
    other_would_add: str
    loaded: bool  # False: judged from settings and files alone (this process has not loaded it)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# The choice this process made, per search settings (tests and shells change them).
_served: dict[tuple, SearchChoice] = {}


def _search_settings() -> tuple:
    return (settings.SEARCH_EMBEDDER, settings.CLIP_MODEL, settings.CLIP_PRETRAINED, settings.CLIP_CHECKPOINT)


def _imagenet_choice(why: str, *, loaded: bool) -> SearchChoice:
    from pipeline.search.imagenet import IMAGENET_EMBEDDER

    return SearchChoice("imagenet", IMAGENET_EMBEDDER, why, _CLIP_ADDS, loaded)


def _clip_name() -> str:
    from pipeline.search.embedder import EmbedderSpec

    return EmbedderSpec(settings.CLIP_MODEL, settings.CLIP_PRETRAINED, settings.CLIP_CHECKPOINT).name


def scene_embedder() -> ClipEmbedder | ImageNetEmbedder:
    """The embedder that serves, loaded once per process: CLIP as settings name it when it loads
    (SEARCH_EMBEDDER auto or clip), else the offline ImageNet embedder (auto or imagenet). With
    SEARCH_EMBEDDER=clip, a CLIP that cannot load raises EmbedderUnavailable."""
    from pipeline.search.embedder import EmbedderUnavailable, load_embedder

    if settings.SEARCH_EMBEDDER != "imagenet":
        try:
            embedder = load_embedder(settings.CLIP_MODEL, settings.CLIP_PRETRAINED, settings.CLIP_CHECKPOINT,
                                     settings.DEVICE)  # fmt: skip
            _served[_search_settings()] = SearchChoice("clip", embedder.name, "CLIP loaded", _IMAGENET_ADDS, True)
            return embedder
        except EmbedderUnavailable as error:
            if settings.SEARCH_EMBEDDER == "clip":
                raise
            reason = str(error)
    else:
        reason = "SEARCH_EMBEDDER=imagenet"
    embedder = _imagenet_embedder(settings.DEVICE)
    _served[_search_settings()] = _imagenet_choice(reason, loaded=True)
    return embedder


@cache
def _imagenet_embedder(device: str) -> ImageNetEmbedder:
    from pipeline.search.imagenet import ImageNetEmbedder

    return ImageNetEmbedder(device=None if device == "auto" else device)


def search_choice() -> SearchChoice:
    """Which embedder serves search (for /healthz and the search page: no torch is loaded). Once
    this process has loaded one, that one; before, judged from settings: CLIP when it is a local
    file, the tiny test model or in the Hugging Face cache, or when its hub can be reached, else the
    offline embedder. Offline text searches are answered on this alone, with no model loaded."""
    if _search_settings() in _served:
        return _served[_search_settings()]
    from pipeline.search.embedder import TINY_MODEL, online, weights_cached

    if settings.SEARCH_EMBEDDER == "imagenet":
        return _imagenet_choice("SEARCH_EMBEDDER=imagenet", loaded=False)
    if settings.CLIP_CHECKPOINT and not Path(settings.CLIP_CHECKPOINT).is_file():
        why = f"CLIP_CHECKPOINT {settings.CLIP_CHECKPOINT} does not exist"
    elif (settings.CLIP_CHECKPOINT or settings.CLIP_MODEL == TINY_MODEL
          or weights_cached(settings.CLIP_MODEL, settings.CLIP_PRETRAINED) or online()):  # fmt: skip
        return SearchChoice("clip", _clip_name(), "CLIP can be loaded (it has not been yet in this process)",
                            _IMAGENET_ADDS, False)  # fmt: skip
    else:
        why = f"CLIP {_clip_name()} cannot be downloaded here (no network) and no CLIP_CHECKPOINT is set"
    if settings.SEARCH_EMBEDDER == "clip":
        return SearchChoice("clip", _clip_name(), f"SEARCH_EMBEDDER=clip, but {why}", _IMAGENET_ADDS, False)
    return _imagenet_choice(why, loaded=False)


def concept_vocabulary() -> Vocabulary:
    """The offline concepts (ImageNet, COCO) and their matcher, with WordNet when installed."""
    return _concept_vocabulary(settings.WORDNET_DIR)


@cache
def _concept_vocabulary(folder: str) -> Vocabulary:
    from pipeline.search.concepts import vocabulary
    from pipeline.search.wordnet import is_installed

    if is_installed(folder):
        return vocabulary(folder)
    logger.warning("WordNet is not installed in %s: offline search matches concept names only "
                   "(make install puts it there from Debian's wordnet-base)", folder)  # fmt: skip
    return vocabulary(None)


def coco_detector() -> NanoDetDetector | None:
    """NanoDet-m for the offline tags' COCO objects (None when it is not installed: ImageNet's
    concepts alone then)."""
    return _coco_detector(settings.NANODET_WEIGHTS, settings.DEVICE, settings.COCO_TAG_THRESHOLD)


@cache
def _coco_detector(weights: str, device: str, confidence: float) -> NanoDetDetector | None:
    from pipeline.scan import nanodet

    if not nanodet.is_installed(weights):
        logger.warning("NanoDet-m is not installed at %s: offline tags have no COCO objects", weights)
        return None
    return nanodet.NanoDetDetector(weights, device=None if device == "auto" else device, confidence=confidence)


def models_forget() -> None:
    """Drop the loaded detector and the embedder choice (settings changed: tests, or a shell)."""
    _detector.cache_clear()
    _served.clear()
