"""The detector's training data: rendered scenes on real photos, and curator-reviewed real frames
added in YOLO layout; and `train_detector` running on both, as a user would."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.management import call_command

from pipeline.labels import LabelRow, write_labels
from pipeline.synth.clocks import render_scene
from pipeline.synth.datasets import add_reviewed_clocks


def _photo(path: Path, seed: int = 0) -> Path:
    """A smooth 'photo' (not the renderer's clutter), so the test can tell it apart."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    cv2.imwrite(str(path), cv2.resize(small, (480, 360), interpolation=cv2.INTER_CUBIC))
    return path


def test_a_scene_on_a_photo_keeps_the_photo_behind_its_clocks(tmp_path):
    photo = cv2.cvtColor(cv2.imread(str(_photo(tmp_path / "p.jpg"))), cv2.COLOR_BGR2RGB)
    scene = render_scene(np.random.default_rng(3), 160, 120, empty_share=1.0, background=photo)
    assert scene.boxes == () and scene.image.shape == (120, 160, 3)
    # The whole photo scaled down correlates with the scene (a crop of it, lightly damaged) far
    # more than the renderer's own backgrounds do.
    own = render_scene(np.random.default_rng(3), 160, 120, empty_share=1.0)
    reference = cv2.resize(photo, (160, 120), interpolation=cv2.INTER_AREA).astype(float)

    def likeness(image: np.ndarray) -> float:
        return abs(np.corrcoef(image.astype(float).mean(2).ravel(), reference.mean(2).ravel())[0, 1])

    assert likeness(scene.image) > likeness(own.image)


def test_reviewed_frames_join_the_training_split_with_their_boxes(tmp_path):
    reviewed = tmp_path / "reviewed"
    reviewed.mkdir()
    cv2.imwrite(str(reviewed / "frame-1.jpg"), np.zeros((100, 200, 3), np.uint8))
    cv2.imwrite(str(reviewed / "frame-2.jpg"), np.zeros((50, 50, 3), np.uint8))
    write_labels(reviewed, [LabelRow("frame-1.jpg", 3, 10, (20, 10, 40, 30), "analog"),
                            LabelRow("frame-1.jpg", 9, 0, (100, 50, 50, 50), "analog"),
                            LabelRow("frame-2.jpg", 4, 5, (0, 0, 50, 50), "digital")])  # fmt: skip
    out = tmp_path / "data"

    assert add_reviewed_clocks(out, reviewed) == 2
    assert add_reviewed_clocks(out, reviewed) == 2  # again: the same files, not more
    labels = sorted((out / "labels" / "train").glob("reviewed-*.txt"))
    assert len(labels) == 2 and len(list((out / "images" / "train").glob("reviewed-*.jpg"))) == 2
    lines = labels[0].read_text().splitlines()
    assert lines == ["0 0.200000 0.250000 0.200000 0.300000", "0 0.625000 0.750000 0.250000 0.500000"]


@pytest.mark.slow
def test_train_detector_renders_on_real_photos_adds_reviewed_frames_and_saves_a_checkpoint(tmp_path, settings):
    backgrounds = tmp_path / "backgrounds"
    backgrounds.mkdir()
    for index in range(12):
        _photo(backgrounds / f"photo-{index}.jpg", seed=index)
    reviewed = tmp_path / "reviewed"
    reviewed.mkdir()
    frame = render_scene(np.random.default_rng(5), 320, 192, max_clocks=1, empty_share=0.0)
    cv2.imwrite(str(reviewed / "frame.jpg"), cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
    write_labels(reviewed, [LabelRow("frame.jpg", 1, 0, frame.boxes[0], "analog")])
    settings.VAR_DIR = tmp_path / "var"
    out = tmp_path / "detector.pt"
    stdout = StringIO()

    call_command("train_detector", data=tmp_path / "data", count=10, epochs=1, image_size=64, batch=4, seed=3,
                 backgrounds=backgrounds, reviewed=reviewed, out=out, stdout=stdout)  # fmt: skip

    said = stdout.getvalue()
    assert "on 9 real photos" in said  # 12 photos less the held-out fifth: 9 of these names
    assert "1 reviewed frames" in said
    assert len(list((tmp_path / "data" / "labels" / "train").glob("reviewed-*.txt"))) == 1
    result = json.loads(said.strip().splitlines()[-1])
    assert result["checkpoint"] == str(out) and out.stat().st_size > 100_000
