"""The hand reader's training labels: every direction moves with the crop, as the pixels do."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.labels import LabelRow
from pipeline.synth.clocks import perspective_warp
from pipeline.synth.hand_training import seen_directions


def _line_image(direction: float, *, side: int = 200, alpha: bool = False) -> np.ndarray:
    """A grey disc with one dark line from its centre towards `direction` (degrees clockwise from up)."""
    # Outside the disc: transparent, or white (neither reads as the line).
    image = np.zeros((side, side, 4), np.uint8) if alpha else np.full((side, side, 3), 255, np.uint8)
    centre = side // 2
    cv2.circle(image, (centre, centre), side // 2 - 2, (170, 170, 170, 255)[: image.shape[2]], -1)
    radians = math.radians(direction)
    tip = (round(centre + 0.8 * centre * math.sin(radians)), round(centre - 0.8 * centre * math.cos(radians)))
    cv2.line(image, (centre, centre), tip, (0, 0, 0, 255)[: image.shape[2]], 3)
    return image


def _drawn_direction(image: np.ndarray, centre: np.ndarray) -> float:
    """Where the dark line points from `centre`, measured on the pixels: its farthest dark pixel."""
    ys, xs = np.nonzero((image[..., :3].max(axis=2) < 60) & (image[..., 3] > 200 if image.shape[2] == 4 else True))
    far = int(np.argmax(np.hypot(xs - centre[0], ys - centre[1])))
    return math.degrees(math.atan2(xs[far] - centre[0], -(ys[far] - centre[1]))) % 360


def _apart(a: float, b: float) -> float:
    return min((a - b) % 360, (b - a) % 360)


@pytest.mark.parametrize("minute", [0, 13, 42])
def test_a_turned_and_squeezed_crop_moves_its_labels_as_it_moves_its_pixels(minute):
    centre = (100.0, 100.0)
    matrix = cv2.getRotationMatrix2D(centre, 25, 1.0)  # 25 degrees counter-clockwise
    matrix = np.diag([0.7, 1.0]) @ matrix  # and squeezed across, as an oblique view
    minute_seen, hour_seen, up_seen = seen_directions(matrix, centre, 4, minute)
    moved = cv2.warpAffine(_line_image(minute * 6), matrix, (200, 200), borderValue=(255, 255, 255))
    mapped_centre = matrix @ np.array([*centre, 1.0])
    assert _apart(minute_seen, _drawn_direction(moved, mapped_centre)) < 2.5
    moved_up = cv2.warpAffine(_line_image(0), matrix, (200, 200), borderValue=(255, 255, 255))
    assert _apart(up_seen, _drawn_direction(moved_up, mapped_centre)) < 2.5
    assert _apart(up_seen, 0) > 15, "the dial's 12 is turned with the crop"
    hour_line = cv2.warpAffine(_line_image(120 + minute * 0.5), matrix, (200, 200), borderValue=(255, 255, 255))
    assert _apart(hour_seen, _drawn_direction(hour_line, mapped_centre)) < 2.5


def test_an_upright_crop_keeps_the_dial_directions():
    assert seen_directions(np.eye(3), (50.0, 50.0), 10, 30) == pytest.approx((180.0, 315.0, 0.0))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_clock_seen_from_the_side_moves_its_labels_as_it_moves_its_pixels(seed):
    image = _line_image(252, alpha=True)  # the minute hand at 42
    warped, homography = perspective_warp(image, np.random.default_rng(seed), strength=0.2)
    minute_seen = seen_directions(homography, (100.0, 100.0), 4, 42)[0]
    mapped = cv2.perspectiveTransform(np.array([[[100.0, 100.0]]]), homography)[0, 0]
    assert _apart(minute_seen, _drawn_direction(warped, mapped)) < 3


def _ellipse_of_the_rim(image: np.ndarray) -> tuple[float, float]:
    """The drawn disc's outline as the pixels show it: its short-to-long axis ratio and the
    short axis's angle (degrees from x towards y, modulo 180)."""
    disc = (image[..., :3].max(axis=2) < 200) & (image[..., 3] > 128 if image.shape[2] == 4 else True)
    contours, _ = cv2.findContours(disc.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    (_, _), (width, height), angle = cv2.fitEllipse(max(contours, key=len))
    # OpenCV's angle turns the first axis (width) from x towards y.
    short_angle = angle if width < height else angle + 90
    return min(width, height) / max(width, height), short_angle % 180


def _squeeze_seen(label: tuple[float, float]) -> tuple[float, float]:
    a, b = label
    return 1 - math.hypot(a, b), math.degrees(math.atan2(b, a)) / 2 % 180


def _axes_apart(a: float, b: float) -> float:
    return min((a - b) % 180, (b - a) % 180)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_the_squeeze_label_of_a_rendered_clock_is_the_ellipse_its_pixels_show(seed):
    from pipeline.read.dial_geometry import local_map, squeeze_of

    image = _line_image(0, alpha=True)
    warped, homography = perspective_warp(image, np.random.default_rng(seed), strength=0.2)
    ratio, axis = _squeeze_seen(squeeze_of(local_map(homography, (100.0, 100.0))))
    drawn_ratio, drawn_axis = _ellipse_of_the_rim(warped)
    # The label is the map at the centre; a perspective's rim is a little off an ellipse's.
    assert ratio == pytest.approx(drawn_ratio, abs=0.05)
    if ratio < 0.9:  # a nearly round rim has no axis to speak of
        assert _axes_apart(axis, drawn_axis) < 8


def test_the_squeeze_label_of_a_recropped_frontal_dial_is_the_ellipse_its_pixels_show():
    from pipeline.read.dial_geometry import squeeze_of
    from pipeline.synth.hand_training import _Base, _recrop

    base = _Base(_line_image(0)[..., :3].copy(), (100.0, 100.0), 98.0, 0, 0)
    rng = np.random.default_rng(0)
    squeezed = 0
    for _ in range(40):
        crop, matrix = _recrop(base, rng)
        ratio, axis = _squeeze_seen(squeeze_of(matrix[:, :2]))
        drawn_ratio, drawn_axis = _ellipse_of_the_rim(crop)
        assert ratio == pytest.approx(drawn_ratio, abs=0.04)
        if ratio < 0.9:
            squeezed += 1
            assert _axes_apart(axis, drawn_axis) < 6
    assert squeezed >= 3, "some re-crops are oblique views"


def _reviewed_folder(folder: Path, rows_and_images: list[tuple[LabelRow, np.ndarray | None]]) -> None:
    """An export_reviewed folder: frames and labels.csv, written as corrections_export writes them."""
    from pipeline.labels import write_labels

    folder.mkdir(parents=True, exist_ok=True)
    for row, image in rows_and_images:
        if image is not None:
            cv2.imwrite(str(folder / row.file), image)
    write_labels(folder, [row for row, _ in rows_and_images])


def _frame(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (120, 160, 3), dtype=np.uint8)


def test_reviewed_frames_split_clocks_from_displays_and_leave_out_what_cannot_be_trained_on(tmp_path):
    from pipeline.synth.real_clocks import reviewed_frames

    _reviewed_folder(tmp_path, [
        (LabelRow("analog.jpg", 12, 40, (10, 10, 80, 80), "analog"), _frame(1)),
        (LabelRow("afternoon.jpg", 14, 5, (20, 20, 60, 60), "analog"), _frame(2)),
        (LabelRow("display.jpg", 9, 15, (30, 40, 90, 30), "digital"), _frame(3)),
        (LabelRow("no-box.jpg", 3, 0, None, "analog"), _frame(4)),
        (LabelRow("no-time.jpg", None, None, (10, 10, 50, 50), "analog"), _frame(5)),
        (LabelRow("unknown.jpg", 3, 0, (10, 10, 50, 50), "unknown"), _frame(6)),
        (LabelRow("gone.jpg", 3, 0, (10, 10, 50, 50), "analog"), None),
    ])  # fmt: skip
    reviewed = reviewed_frames(tmp_path)
    assert [(clock.path.name, clock.hour, clock.minute, clock.box, clock.split) for clock in reviewed.clocks] == [
        ("analog.jpg", 0, 40, (10, 10, 80, 80), "train"),
        ("afternoon.jpg", 2, 5, (20, 20, 60, 60), "train"),
    ], "hours on the dial (12 is 0, 14 is 2), in their boxes, all training"
    assert reviewed.displays == ((tmp_path / "display.jpg", (30, 40, 90, 30)),)
    assert reviewed.skipped == 4
    with pytest.raises(ValueError, match=r"labels\.csv not found"):
        reviewed_frames(tmp_path / "nowhere")


def test_the_training_stream_draws_reviewed_clocks_and_displays(tmp_path, monkeypatch):
    """With no training clocks of its own (irsural is all validation), the stream trains on what
    curators reviewed: their clocks at their times, their displays for the kind head."""
    from pipeline.read.hand_net import KINDS
    from pipeline.synth import hand_training
    from pipeline.synth.real_clocks import reviewed_frames

    real = tmp_path / "real"
    (real / "irsural").mkdir(parents=True)
    cv2.imwrite(str(real / "irsural" / "02-37-20.411.png"), _frame(7))
    backgrounds = tmp_path / "backgrounds"
    backgrounds.mkdir()
    for index in range(3):
        cv2.imwrite(str(backgrounds / f"{index}.jpg"), _frame(10 + index))
    with pytest.raises(ValueError, match="nothing to train on"):
        next(iter(hand_training.SampleStream(real, backgrounds, seed=1)))

    _reviewed_folder(tmp_path / "reviewed", [
        (LabelRow("a.jpg", 4, 20, (20, 10, 100, 100), "analog"), _frame(20)),
        (LabelRow("b.jpg", 20, 45, (30, 20, 90, 90), "analog"), _frame(21)),
        (LabelRow("c.jpg", 7, 0, (10, 40, 120, 40), "digital"), _frame(22)),
    ])  # fmt: skip
    monkeypatch.setattr(hand_training, "REVIEWED_DISPLAY_SHARE", 1.0)

    def no_rendered_displays(*args: object, **kwargs: object) -> None:
        raise AssertionError("with every display drawn from the reviewed ones, none is rendered")

    monkeypatch.setattr(hand_training, "reader_sample", no_rendered_displays)
    reviewed = reviewed_frames(tmp_path / "reviewed")
    stream = iter(hand_training.SampleStream(real, backgrounds, seed=1, reviewed=reviewed))
    samples = [next(stream) for _ in range(80)]
    times = {(sample.hour, sample.minute) for sample in samples if sample.kind == KINDS.index("analog")}
    assert {(4, 20), (8, 45)} <= times, "the reviewed clocks are trained on at the times curators gave"
    assert any(sample.kind == KINDS.index("digital") for sample in samples)


def test_the_second_hand_target_says_where_it_points_that_there_is_none_or_nothing():
    from pipeline.synth.hand_training import Sample, _second_hand_target

    image = np.zeros((112, 112, 3), np.uint8)
    pointing = _second_hand_target(Sample(image, 0, 3, 10, second_hand=90.0, second_hand_known=True))
    assert pointing.argmax() == 15 and pointing[-1] == 0 and pointing.sum() == pytest.approx(1)
    none = _second_hand_target(Sample(image, 0, 3, 10, second_hand_known=True))
    assert none[-1] == 1 and none.sum() == 1
    assert not _second_hand_target(Sample(image, 0, 3, 10)).any(), "unknown: masked out of the loss"


def test_a_repainted_second_hand_is_drawn_where_its_label_says_and_carries_the_minute_hand(monkeypatch):
    from pipeline.synth import hand_training
    from pipeline.synth.hand_training import _Base, _Dial, repainted

    monkeypatch.setattr(hand_training, "REPAINTED_SECOND_HAND_SHARE", 1.0)
    monkeypatch.setattr(hand_training, "SECOND_AT_TWELVE_SHARE", 0.0)
    face = np.full((200, 200, 3), 200, np.uint8)
    dial = _Dial(_Base(face, (100.0, 100.0), 90.0, 0, 0), (100.0, 100.0), (40.0, 70.0), (6.0, 4.0), (20, 20, 20))
    checked = 0
    for seed in range(12):
        base, hour, minute = repainted(dial, np.random.default_rng(seed))
        assert base.second_hand_known and base.second_hand == pytest.approx(base.seconds * 6)
        minute_hand = (minute + base.seconds / 60) * 6
        if _apart(minute_hand, base.second_hand) < 30 or _apart(hour * 30 + minute_hand / 12, base.second_hand) < 30:
            continue  # the other hands would cover the same pixels
        checked += 1
        changed = np.abs(base.image.astype(int) - face).max(axis=2) > 40
        radians = math.radians(base.second_hand)
        x, y = round(100 + 60 * math.sin(radians)), round(100 - 60 * math.cos(radians))
        assert changed[y - 1 : y + 2, x - 1 : x + 2].any(), f"seed {seed}: no second hand at {base.second_hand}°"
        wrong = math.radians(base.second_hand + 90)
        x, y = round(100 + 60 * math.sin(wrong)), round(100 - 60 * math.cos(wrong))
        assert not changed[y - 1 : y + 2, x - 1 : x + 2].any() or _apart(minute_hand, base.second_hand + 90) < 20
    assert checked >= 4
