"""The label conversion of the real clock photographs: hands to times, checked against images read by eye."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pipeline.synth.real_clocks import (
    CORRECTED_BY_EYE,
    MAX_HAND_DISAGREEMENT,
    WRONG_BY_EYE,
    _hand_area,
    _pivot_from_both,
    hand_angle,
    real_clocks,
    time_and_disagreement,
    time_from_angles,
)

REAL_CLOCKS = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-clocks"
needs_data = pytest.mark.skipif(not REAL_CLOCKS.is_dir(), reason=f"{REAL_CLOCKS} (the shared real clocks) not here")


def test_a_hand_points_along_its_long_axis_not_to_its_farthest_corner():
    pivot = (50.0, 50.0)
    # A thick bar from the pivot to 3 o'clock: its farthest corner lies 7 degrees below the axis.
    thick_three = np.array([[50, 45], [90, 45], [90, 55], [50, 55]], dtype=float)
    angle, length = hand_angle(pivot, thick_three)
    assert angle == pytest.approx(90, abs=0.5)
    assert length == pytest.approx(math.hypot(40, 5), abs=1)
    # The same bar pointing to 9: the axis is pointed away from the pivot, not along it.
    thick_nine = np.array([[10, 45], [50, 45], [50, 55], [10, 55]], dtype=float)
    assert hand_angle(pivot, thick_nine)[0] == pytest.approx(270, abs=0.5)
    # With the pivot a few pixels off, the axis still gives the hand's direction.
    assert hand_angle((48.0, 53.0), thick_three)[0] == pytest.approx(90, abs=0.5)
    # A two-point "polygon" (a line) to 12 o'clock.
    twelve = np.array([[50, 52], [50, 10]], dtype=float)
    assert hand_angle(pivot, twelve)[0] == pytest.approx(0, abs=1)


def test_the_pivot_is_where_the_hands_axes_cross_not_where_their_polygons_touch():
    # 10:10 on a hub at (100, 100): two thick bars, 14 px wide, each with a short tail behind the
    # hub. Their outlines come closest 9 px below the hub, and the farthest corners sit off the
    # axes: read that way (the conversion before), the clock said 11:08.
    hour = np.array([[108.9, 97.7], [67.2, 68.5], [59.1, 79.9], [100.9, 109.2]])
    minute = np.array([[98.3, 109.1], [159.8, 73.6], [152.8, 61.4], [91.3, 96.9]])
    pivot = _pivot_from_both(hour, minute, _hand_area(hour), _hand_area(minute))
    assert np.linalg.norm(np.asarray(pivot) - (100, 100)) < 1
    assert time_from_angles(hand_angle(pivot, hour)[0], hand_angle(pivot, minute)[0]) == (10, 10)
    # Hands too nearly in line to cross cleanly (12:00) fall back to where the polygons touch.
    twelve_hour = np.array([[98, 104], [98, 70], [102, 70], [102, 104]], dtype=float)
    twelve_minute = np.array([[99, 103], [99, 40], [101, 40], [101, 103]], dtype=float)
    pivot = _pivot_from_both(twelve_hour, twelve_minute, _hand_area(twelve_hour), _hand_area(twelve_minute))
    assert 98 <= pivot[0] <= 102 and 40 <= pivot[1] <= 104
    assert time_from_angles(hand_angle((100, 104), twelve_hour)[0], hand_angle((100, 104), twelve_minute)[0]) == (0, 0)


def test_the_hour_comes_from_the_hour_hand_less_what_the_minutes_moved_it():
    # 6:51: the hour hand is at 205.5 degrees, nearer 7 than 6.
    assert time_from_angles(205.5, 306) == (6, 51)
    # A hand annotated a few degrees off still gives the same hour.
    assert time_from_angles(199, 306) == (6, 51)
    assert time_from_angles(212, 306) == (6, 51)
    # 12:00 and 11:59 on either side of the top.
    assert time_from_angles(0.5, 1) == (0, 0)
    assert time_from_angles(359.5, 354) == (11, 59)
    # 3:00 with the minute polygon drawn a little left of 12: the hour hand on 3 keeps it 3:00,
    # not 2:57 (the minute alone) or 3:57 (the hour alone, rounded after the minute).
    hour, minute = time_from_angles(90, 354)
    assert (hour, minute) in {(2, 59), (3, 0)}


def test_hands_that_no_time_fits_are_no_label():
    # A children's clock at "half past" with the hour hand drawn on 9: 8:30 and 9:30 miss it equally.
    assert time_and_disagreement(270, 180)[2] == pytest.approx(15)
    assert time_and_disagreement(270, 180)[2] > MAX_HAND_DISAGREEMENT
    # A consistent 9:30 fits within a degree.
    assert time_and_disagreement(285, 180)[2] < 1


@needs_data
@pytest.mark.parametrize(
    ("source", "name", "time"),
    [
        # Read by eye from the images.
        ("ermu03", "img_58878_cropped_transformed.jpg", (1, 25)),
        ("ermu03", "img_150_cropped_transformed.jpg", (3, 0)),
        ("ermu03", "img_118_cropped_transformed.jpg", (10, 23)),
        ("shlezman", "train_00111.jpg", (10, 9)),
        ("shlezman", "train_00080.jpg", (10, 10)),
        # Labelled wrong before the hands were read along their axes from where those cross.
        ("shlezman", "test_00009.jpg", (10, 10)),
        ("shlezman", "train_00036.jpg", (3, 0)),
        ("shlezman", "val_00006.png", (3, 0)),
        ("shlezman", "train_00084.jpg", (10, 10)),
        ("ermu03", "img_141_cropped_transformed.jpg", (2, 22)),
        ("ermu03", "img_36_cropped_transformed.jpg", (3, 56)),
        ("ermu03", "img_52_cropped_transformed.jpg", (4, 36)),
        ("ermu03", "img_147_cropped_transformed.jpg", (2, 43)),
    ],
)
def test_hand_polygons_give_the_time_the_photo_shows(source, name, time):
    clocks = {clock.path.name: clock for clock in real_clocks(REAL_CLOCKS) if clock.source == source}
    clock = clocks[name]
    read = clock.hour or 12, clock.minute
    distance = abs((read[0] % 12) * 60 + read[1] - ((time[0] % 12) * 60 + time[1]))
    # Within two minutes: a polygon drawn by hand around a hand is a few degrees off it, and a
    # minute is six. An hour off, or hands swapped, is far outside.
    assert min(distance, 720 - distance) <= 2, f"{name}: {read} from the polygons, {time} by eye"


@needs_data
def test_each_source_is_read_and_the_validation_split_is_fixed():
    clocks = real_clocks(REAL_CLOCKS)
    by_source = {source: [clock for clock in clocks if clock.source == source] for source in
                 ("ermu03", "shlezman", "irsural", "cv2024-fake-hands")}  # fmt: skip
    assert len(by_source["ermu03"]) > 200
    assert len(by_source["shlezman"]) > 100
    assert len(by_source["irsural"]) == 10
    assert len(by_source["cv2024-fake-hands"]) > 1400
    assert all(clock.split == "validation" for clock in by_source["irsural"])
    assert all(clock.split == "train" for clock in by_source["cv2024-fake-hands"])
    again = real_clocks(REAL_CLOCKS)
    assert [clock.split for clock in clocks] == [clock.split for clock in again]
    irsural = {clock.path.name: (clock.hour, clock.minute) for clock in by_source["irsural"]}
    assert irsural["02-37-20.411.png"] == (2, 37)
    # shlezman boxes are square and centred on the hands' pivot.
    for clock in by_source["shlezman"]:
        assert clock.box is not None and clock.box[2] == clock.box[3] > 0
    # Its 16-px icons (a letter, a bird) with hand polygons on them are no clocks to learn from.
    icon = REAL_CLOCKS / "shlezman" / "ac_hands_ft" / "dataset" / "images" / "val" / "val_00007.png"
    assert icon.exists() and icon not in {clock.path for clock in by_source["shlezman"]}


@needs_data
def test_times_read_by_eye_replace_the_polygons_where_they_miss():
    by_name = {f"{clock.source}/{clock.path.stem}": clock for clock in real_clocks(REAL_CLOCKS)}
    for key, (hour, minute, _) in CORRECTED_BY_EYE.items():
        clock = by_name[key]
        assert (clock.hour, clock.minute) == (hour % 12, minute)
        assert (clock.hour_angle, clock.minute_angle) == (30 * (hour % 12) + minute / 2, 6 * minute)
    # The teaching clock at 3:00, whose polygons' axes say 2:58.
    assert (by_name["shlezman/train_00106"].hour, by_name["shlezman/train_00106"].minute) == (3, 0)


@needs_data
def test_labels_found_wrong_by_eye_are_left_out():
    clocks = real_clocks(REAL_CLOCKS)
    kept = {f"{clock.source}/{clock.path.stem}" for clock in clocks}
    assert WRONG_BY_EYE and not kept & WRONG_BY_EYE.keys()
    # They are real files with labels: the list names images that exist, not typos.
    for key in WRONG_BY_EYE:
        source, stem = key.split("/")
        assert any((REAL_CLOCKS / source).rglob(stem + ".*")), key
    # What remains of the two hand-polygon sources is still most of them.
    assert sum(clock.source == "ermu03" for clock in clocks) > 200
    assert sum(clock.source == "shlezman" for clock in clocks) > 100
