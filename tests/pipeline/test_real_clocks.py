"""The label conversion of the real clock photographs: hands to times, checked against images read by eye."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.synth.real_clocks import hand_angle, real_clocks, time_from_angles

REAL_CLOCKS = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-clocks"
needs_data = pytest.mark.skipif(not REAL_CLOCKS.is_dir(), reason=f"{REAL_CLOCKS} (the shared real clocks) not here")


def test_a_hand_points_where_its_farthest_point_lies():
    pivot = (50.0, 50.0)
    three_oclock = np.array([[48, 48], [52, 52], [90, 50], [89, 49]], dtype=float)
    angle, length = hand_angle(pivot, three_oclock)
    assert angle == pytest.approx(90)
    assert length == pytest.approx(40)
    twelve = np.array([[50, 52], [50, 10]], dtype=float)
    assert hand_angle(pivot, twelve)[0] == pytest.approx(0)


def test_the_hour_comes_from_the_hour_hand_less_what_the_minutes_moved_it():
    # 6:51: the hour hand is at 205.5 degrees, nearer 7 than 6.
    assert time_from_angles(205.5, 306) == (6, 51)
    # A hand annotated a few degrees off still gives the same hour.
    assert time_from_angles(199, 306) == (6, 51)
    assert time_from_angles(212, 306) == (6, 51)
    # 12:00 and 11:59 on either side of the top.
    assert time_from_angles(0.5, 1) == (0, 0)
    assert time_from_angles(359.5, 354) == (11, 59)


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
    ],
)
def test_hand_polygons_give_the_time_the_photo_shows(source, name, time):
    clocks = {clock.path.name: clock for clock in real_clocks(REAL_CLOCKS) if clock.source == source}
    clock = clocks[name]
    read = clock.hour or 12, clock.minute
    distance = abs((read[0] % 12) * 60 + read[1] - ((time[0] % 12) * 60 + time[1]))
    assert min(distance, 720 - distance) <= 1, f"{name}: {read} from the polygons, {time} by eye"


@needs_data
def test_each_source_is_read_and_the_validation_split_is_fixed():
    clocks = real_clocks(REAL_CLOCKS)
    by_source = {source: [clock for clock in clocks if clock.source == source] for source in
                 ("ermu03", "shlezman", "irsural", "cv2024-fake-hands")}  # fmt: skip
    assert len(by_source["ermu03"]) > 200
    assert len(by_source["shlezman"]) > 120
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
