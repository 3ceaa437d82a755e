"""Which detector scans: the best that can be had, said with the reasons for the ones passed over."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from pipeline.scan import nanodet
from pipeline.scan.choice import choose_detector, planned_detector
from pipeline.scan.detector import ClockDetector
from pipeline.scan.nanodet import NanoDetDetector
from pipeline.scan.second_look import SecondLookDetector
from pipeline.scan.tiles import TiledDetector

ROOT = Path(__file__).resolve().parents[2]
OWN = Path(settings.OWN_DETECTOR_WEIGHTS)
INSTALLED_NANODET = ROOT / nanodet.DEFAULT_OUT


def _nanodet_or_skip() -> Path:
    if not nanodet.is_installed(INSTALLED_NANODET):
        pytest.skip(f"NanoDet-m is not installed at {INSTALLED_NANODET} (`make install` converts it)")
    return INSTALLED_NANODET


def _choose(tmp_path: Path, **given: object):
    arguments = {"forced": None, "cache_dir": tmp_path / "cache", "nanodet_weights": tmp_path / "no-nanodet.pt",
                 "own_weights": OWN, "device": "cpu", "download": False} | given  # fmt: skip
    return choose_detector(**arguments)


def test_offline_with_nanodet_installed_the_coco_nanodet_is_chosen_and_yolo_is_passed_over(tmp_path):
    weights = _nanodet_or_skip()

    detector, choice = _choose(tmp_path, nanodet_weights=weights)

    assert isinstance(detector, NanoDetDetector)
    assert choice.kind == "nanodet-coco"
    assert detector.class_names[detector.clock_class] == "clock"
    assert (detector.confidence, detector.image_size) == (0.3, 416)
    assert len(choice.passed_over) == 1 and "yolo11n.pt is not cached" in choice.passed_over[0]
    # Trying ultralytics first must not leave its PIL.Image.open patch (which pip-installs a plugin
    # on the first file Pillow can't identify) in this process.
    from PIL import Image

    assert Image.open.__module__ == "PIL.Image"


def test_with_no_coco_detector_the_own_checkpoint_is_used_and_both_reasons_are_given(tmp_path):
    detector, choice = _choose(tmp_path)

    assert isinstance(detector, ClockDetector)
    assert choice.kind == "own" and choice.weights == str(OWN)
    assert detector.clock_class == 0 and (detector.confidence, detector.image_size) == (0.4, 320)
    assert [reason.split(":")[0] for reason in choice.passed_over] == ["yolo-coco", "nanodet-coco"]
    assert "pipeline.scan.nanodet install" in choice.passed_over[1]
    assert "no COCO detector could be had" in choice.describe()


def test_a_cached_coco_yolo_comes_first_and_its_clock_class_is_read_from_its_names(tmp_path):
    """A YOLO11 with the 80 COCO names (random weights: only the choice is tested here) in the cache."""
    from pipeline.coco import COCO_NAMES
    from pipeline.scan.detector import _import_yolo

    YOLO = _import_yolo()  # ultralytics without its PIL patch

    cache = tmp_path / "cache"
    cache.mkdir()
    model = YOLO(str(ROOT / "pipeline" / "synth" / "yolo-clock.yaml"), task="detect")
    model.model.names = dict(enumerate(COCO_NAMES))
    model.save(str(cache / "yolo11n.pt"))

    detector, choice = _choose(tmp_path, nanodet_weights=INSTALLED_NANODET)

    assert choice.kind == "yolo-coco" and choice.weights == str(cache / "yolo11n.pt")
    assert isinstance(detector, ClockDetector) and detector.clock_class == 74
    assert choice.passed_over == ()


def test_forced_weights_skip_the_choice_whatever_their_kind(tmp_path):
    detector, choice = _choose(tmp_path, forced=str(OWN))
    assert isinstance(detector, ClockDetector) and choice.kind == "forced"
    assert "CLOCKWEB_DETECTOR_WEIGHTS" in choice.why

    weights = _nanodet_or_skip()
    detector, choice = _choose(tmp_path, forced=str(weights))
    assert isinstance(detector, NanoDetDetector) and "NanoDet-m" in choice.why


def test_tiles_wrap_the_coco_detector_under_its_second_look_and_are_said(tmp_path):
    weights = _nanodet_or_skip()
    import numpy as np

    detector, choice = _choose(tmp_path, nanodet_weights=weights, tiles=(3, 2),
                               no_clock=lambda images, boxes: np.zeros(len(boxes)))  # fmt: skip

    assert isinstance(detector, SecondLookDetector) and isinstance(detector.primary, TiledDetector)
    assert isinstance(detector.primary.inner, NanoDetDetector)
    assert (detector.primary.columns, detector.primary.rows) == (3, 2)
    assert choice.tiles == "3x2" and "tiles: 3x2" in choice.describe() and choice.second_look

    detector, choice = _choose(tmp_path, forced=str(weights), tiles=(2, 2))
    assert isinstance(detector, TiledDetector) and choice.as_dict()["tiles"] == "2x2"
    _, untiled = _choose(tmp_path, nanodet_weights=weights)
    assert untiled.tiles is None and "tiles" not in untiled.describe()


def test_forced_weights_that_cannot_load_raise_instead_of_falling_back(tmp_path):
    with pytest.raises(FileNotFoundError):
        _choose(tmp_path, forced=str(tmp_path / "missing.pt"))


def test_the_plan_for_a_health_check_matches_the_files(tmp_path):
    cache, own = tmp_path / "cache", tmp_path / "own.pt"
    cache.mkdir()
    missing = tmp_path / "no-nanodet.pt"
    assert planned_detector(forced=None, cache_dir=cache, nanodet_weights=missing, own_weights=own).kind == "own"
    present = tmp_path / "nanodet.pt"
    present.write_bytes(b"x")
    plan = planned_detector(forced=None, cache_dir=cache, nanodet_weights=present, own_weights=own)
    assert plan.kind == "nanodet-coco" and "not cached" in plan.passed_over[0]
    (cache / "yolo11n.pt").write_bytes(b"x")
    assert planned_detector(forced=None, cache_dir=cache, nanodet_weights=present, own_weights=own).kind == "yolo-coco"
    assert planned_detector(forced="/x.pt", cache_dir=cache, nanodet_weights=present, own_weights=own).kind == "forced"


def test_the_plan_for_a_health_check_loads_no_torch(tmp_path):
    # /healthz asks for the plan in web processes, which must never pay for loading torch.
    script = (
        "import sys; from pathlib import Path; from pipeline.scan.choice import planned_detector;"
        f"planned_detector(forced=None, cache_dir=Path({str(tmp_path)!r}), nanodet_weights=Path('x.pt'),"
        " own_weights=Path('own.pt'));"
        "print(sorted(name for name in ('torch', 'torchvision', 'ultralytics', 'onnxruntime') if name in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True)  # fmt: skip
    assert run.stdout.strip() == "[]"
