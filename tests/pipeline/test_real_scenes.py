"""The detector eval sets built from real validation clocks: exact boxes where the dial is pasted,
boxes around the annotated pivot on photographs, clockless photos as rows without a box."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.labels import read_labels
from pipeline.synth.hand_training import background_files
from pipeline.synth.real_clocks import RealClock
from pipeline.synth.real_scenes import pasted_dial_scenes, photo_scenes


def _photos(folder: Path, count: int) -> Path:
    """A folder of clockless 'photos' whose names the held-out split keeps (a fifth of names)."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    index = 0
    while len(background_files(folder, validation=True)) < count:
        cv2.imwrite(str(folder / f"photo-{index}.jpg"), rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
        index += 1
    return folder


def _dial(path: Path) -> Path:
    dial = np.full((100, 100, 3), 255, np.uint8)
    cv2.circle(dial, (50, 50), 48, (0, 0, 0), 3)
    cv2.imwrite(str(path), dial)
    return path


def test_pasted_dials_lie_inside_their_photos_at_their_boxes(tmp_path):
    backgrounds = _photos(tmp_path / "backgrounds", 3)
    dial = RealClock(_dial(tmp_path / "dial.jpg"), 3, 40, None, "ermu03", "validation")
    trained_on = RealClock(_dial(tmp_path / "train.jpg"), 4, 10, None, "ermu03", "train")
    out = tmp_path / "set"
    assert pasted_dial_scenes([dial, trained_on], backgrounds, out, seed=1, pastes_per_dial=4) == 4
    rows = read_labels(out)
    pasted = [row for row in rows if row.box is not None]
    assert len(pasted) == 4 and {(row.hour, row.minute) for row in pasted} == {(3, 40)}
    assert len([row for row in rows if row.box is None]) == 3  # every held-out photo, with no clock
    for row in pasted:
        x, y, side, _ = row.box
        scene = cv2.imread(str(out / row.file))
        assert 20 <= side <= 200 and x + side <= scene.shape[1] and y + side <= scene.shape[0]
        # The dial's white face is where the box says (the random photos average mid-grey).
        assert scene[y + side // 4 : y + 3 * side // 4, x + side // 4 : x + 3 * side // 4].mean() > 200


def test_photo_boxes_centre_on_the_pivot_and_reach_past_the_minute_hand(tmp_path):
    backgrounds = _photos(tmp_path / "backgrounds", 1)
    image = tmp_path / "photo.jpg"
    cv2.imwrite(str(image), np.zeros((300, 400, 3), np.uint8))
    hour_hand = np.array([[200.0, 150.0], [200.0, 120.0]])
    minute_hand = np.array([[200.0, 150.0], [250.0, 150.0]])  # 50 px, pointing at 3
    clock = RealClock(image, 12, 15, (0, 0, 1, 1), "shlezman", "validation", hands=(hour_hand, minute_hand),
                      pivot=(200.0, 150.0))  # fmt: skip
    other = RealClock(image, 1, 0, (0, 0, 1, 1), "ermu03", "validation", hands=(hour_hand, minute_hand),
                      pivot=(200.0, 150.0))  # fmt: skip
    assert photo_scenes([clock, other], backgrounds, tmp_path / "set") == 1
    boxed = [row for row in read_labels(tmp_path / "set") if row.box is not None]
    assert [row.box for row in boxed] == [(135, 85, 130, 130)]  # 1.3 minute hands each way


def test_no_clockless_photos_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    dial = RealClock(_dial(tmp_path / "dial.jpg"), 3, 40, None, "ermu03", "validation")
    with pytest.raises(ValueError, match="no clockless photographs"):
        pasted_dial_scenes([dial], tmp_path / "empty", tmp_path / "set", seed=1)
