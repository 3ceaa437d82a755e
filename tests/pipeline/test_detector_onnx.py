"""clockweb's own detector exported to ONNX (as `make install` does) and run by onnxruntime on a
CPU: the same boxes as the checkpoint through torch, and torch again where the export is missing,
stale or broken."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from pipeline.scan.detector import ClockDetector, current_onnx_export, export_onnx
from pipeline.synth.clocks import DrawnTime, draw_analog, random_analog_style, random_background


def _scenes(count: int) -> list[np.ndarray]:
    """Busy 640 x 480 pictures, each with a 90-200 px rendered clock somewhere in it."""
    pictures = []
    for seed in range(count):
        rng = np.random.default_rng(seed)
        canvas = random_background(rng, 640, 480)
        size = int(rng.integers(90, 200))
        clock = draw_analog(DrawnTime(int(rng.integers(0, 12)), int(rng.integers(0, 60))), random_analog_style(rng),
                            size, rng).image  # fmt: skip
        alpha = clock[..., 3:4] / 255
        x, y = int(rng.integers(0, 640 - size)), int(rng.integers(0, 480 - size))
        region = canvas[y : y + size, x : x + size]
        canvas[y : y + size, x : x + size] = (region * (1 - alpha) + clock[..., :3] * alpha).astype(np.uint8)
        pictures.append(canvas)
    return pictures


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    return export_onnx(settings.OWN_DETECTOR_WEIGHTS, tmp_path_factory.mktemp("onnx") / "detector.onnx")


def test_the_export_finds_the_boxes_torch_finds(exported):
    by_torch = ClockDetector(settings.OWN_DETECTOR_WEIGHTS, device="cpu", confidence=0.4, image_size=320)
    by_onnx = ClockDetector(settings.OWN_DETECTOR_WEIGHTS, device="cpu", confidence=0.4, image_size=320,
                            onnx_export=exported)  # fmt: skip
    assert (by_torch.runtime, by_onnx.runtime) == ("torch", "onnxruntime")
    scenes = _scenes(12)
    # Batches of one and of several, as the scan sends them.
    torch_found = by_torch.find(scenes)
    onnx_found = by_onnx.find(scenes[:1]) + by_onnx.find(scenes[1:])
    assert sum(len(found) for found in torch_found) >= 6, "the rendered clocks are found at all"
    for in_torch, in_onnx in zip(torch_found, onnx_found, strict=True):
        assert len(in_torch) == len(in_onnx)
        for a, b in zip(sorted(in_torch, key=lambda c: c.box.x), sorted(in_onnx, key=lambda c: c.box.x), strict=True):
            assert abs(a.box.x - b.box.x) < 0.5 and abs(a.box.y - b.box.y) < 0.5
            assert abs(a.box.width - b.box.width) < 0.5 and abs(a.confidence - b.confidence) < 1e-3


def test_an_export_of_other_weights_or_a_broken_one_is_not_used(exported, tmp_path):
    assert current_onnx_export(settings.OWN_DETECTOR_WEIGHTS, exported) == exported
    retrained = tmp_path / "detector.pt"
    shutil.copyfile(settings.OWN_DETECTOR_WEIGHTS, retrained)
    with retrained.open("ab") as file:  # the checkpoint changed since the export
        file.write(b"\0")
    assert current_onnx_export(retrained, exported) is None
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(exported.read_bytes()[:1000])
    assert current_onnx_export(settings.OWN_DETECTOR_WEIGHTS, broken) is None
    assert current_onnx_export(settings.OWN_DETECTOR_WEIGHTS, tmp_path / "missing.onnx") is None
    detector = ClockDetector(settings.OWN_DETECTOR_WEIGHTS, device="cpu", onnx_export=broken)
    assert detector.runtime == "torch"


def test_make_install_exports_the_committed_detector():
    """The install step's export is the one the scan's second look takes on a CPU."""
    assert current_onnx_export(settings.OWN_DETECTOR_WEIGHTS, settings.OWN_DETECTOR_ONNX) is not None, (
        f"{settings.OWN_DETECTOR_ONNX} missing or stale: run `make install`"
    )


def test_loading_and_running_the_export_prints_nothing(exported):
    """The benchmarks print one JSON object on stdout; ultralytics' lines about which runtime
    loads which file (info records of its logger, whose handler writes to stdout) must not land
    among it."""
    records: list[logging.LogRecord] = []
    collector = logging.Handler()
    collector.emit = records.append  # type: ignore[method-assign]
    ultralytics_log = logging.getLogger("ultralytics")
    ultralytics_log.addHandler(collector)
    try:
        detector = ClockDetector(settings.OWN_DETECTOR_WEIGHTS, device="cpu", onnx_export=exported, image_size=320)
        detector.find(_scenes(1))
    finally:
        ultralytics_log.removeHandler(collector)
    assert detector.runtime == "onnxruntime"
    assert not [record.getMessage() for record in records if record.levelno < logging.WARNING]
