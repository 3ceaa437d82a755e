"""The display recognizer's arithmetic (digit places to a time a clock can show, what it says of
AM/PM) and its turned views of a display."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.clock_time import minutes_apart
from pipeline.geometry import Box
from pipeline.read.display_reader import (
    DIGIT_CLASSES,
    DISPLAY_SIZE,
    DISPLAY_TURNS,
    MARKERS,
    DisplayReader,
    DisplayReading,
    crop_display,
    decode_display,
    digit_class,
    display_views,
)
from pipeline.synth.clocks import DrawnTime, damage, display_sample, draw_digital, random_digital_style


def _places(*chars_and_weights: dict[str, float]) -> np.ndarray:
    places = np.full((4, DIGIT_CLASSES), 1e-4)
    for index, weights in enumerate(chars_and_weights):
        for char, weight in weights.items():
            places[index, digit_class(char)] = weight
    return places / places.sum(1, keepdims=True)


def _marker(name: str = "none") -> np.ndarray:
    return np.array([0.9 if marker == name else 0.05 for marker in MARKERS])


def test_it_reads_four_sure_digits():
    reading = decode_display(_places({"2": 1}, {"1": 1}, {"0": 1}, {"5": 1}), _marker())
    assert (reading.hour, reading.minute) == (21, 5)
    assert reading.meridiem == "pm", "21:05 on a 24-hour display can only be evening"
    assert reading.confidence > 0.99


def test_a_blank_first_place_is_a_twelve_hour_display():
    reading = decode_display(_places({" ": 1}, {"9": 1}, {"0": 1}, {"5": 1}), _marker("am"))
    assert (reading.hour, reading.minute, reading.meridiem) == (9, 5, "am")


def test_it_never_reads_an_hour_or_minute_no_clock_shows():
    # The likeliest digits say 29:75; the joint choice keeps to real times.
    places = _places({"2": 0.6, "1": 0.4}, {"9": 0.6, "3": 0.4}, {"7": 0.6, "4": 0.4}, {"5": 1})
    reading = decode_display(places, _marker())
    assert reading.hour in {19, 23}, "the two likeliest hours a clock can show"
    assert reading.minute == 45
    assert reading.confidence < 0.5


def test_a_marker_the_recognizer_is_unsure_of_says_nothing_of_am_pm():
    places = _places({" ": 1}, {"9": 1}, {"0": 1}, {"5": 1})
    coin_flip = np.array([0.02, 0.47, 0.51])
    reading = decode_display(places, coin_flip)
    assert (reading.hour, reading.minute, reading.marker, reading.meridiem) == (9, 5, "none", "unknown")
    assert decode_display(places, np.array([0.02, 0.08, 0.9])).meridiem == "pm"
    # A 24-hour reading still says which half it is without any marker.
    assert decode_display(_places({"2": 1}, {"1": 1}, {"0": 1}, {"5": 1}), coin_flip).meridiem == "pm"


@pytest.mark.parametrize(
    ("hour", "marker", "expected"),
    [(0, "none", "am"), (12, "none", "unknown"), (7, "none", "unknown"), (13, "none", "pm"), (7, "pm", "pm")],
)
def test_what_a_display_says_of_am_and_pm(hour, marker, expected):
    assert DisplayReading(hour, 0, marker, 1.0).meridiem == expected


@pytest.mark.parametrize("seed", range(12))
def test_rendered_display_samples_are_labelled_as_drawn(seed):
    sample = display_sample(np.random.default_rng(seed), (128, 40), time=DrawnTime(21, 7))
    assert sample.image.shape == (40, 128, 3)
    if sample.text == "2107":
        assert sample.marker == "none", "a 24-hour display has no marker"
    else:
        assert sample.text in {" 907", "0907"} and sample.marker in {"none", "pm"}


@pytest.mark.parametrize(
    ("hour", "twenty_four", "marker", "expected"),
    [
        (21, True, False, "pm"),  # 21:05 can only be evening
        (0, True, False, "am"),
        (21, False, False, "unknown"),  # a 12-hour display shows " 9:05" and says nothing
        (21, False, True, "pm"),
        (9, True, False, "unknown"),  # a 12-hour display with a leading zero shows 09:05 too
    ],
)
def test_the_reader_is_taught_only_what_a_display_says_of_am_pm(hour, twenty_four, marker, expected):
    from pipeline.read.reader_model import MERIDIEMS
    from pipeline.synth.clocks import ReaderSample
    from pipeline.synth.reader_training import meridiem_label

    sample = ReaderSample(np.zeros((4, 4, 3), np.uint8), DrawnTime(hour, 5), "digital", marker, twenty_four)
    assert MERIDIEMS[meridiem_label(sample)] == expected


def _level_stripe_picture(turn: float) -> tuple[np.ndarray, Box]:
    """A grey picture with a white bar (a display's row of digits) through its box's centre,
    turned by `turn` degrees about that centre; the box is where the bar was drawn level."""
    picture = np.full((200, 300, 3), 90, np.uint8)
    box = Box(90, 80, 120, 40)
    cv2.rectangle(picture, (90, 96), (209, 103), (255, 255, 255), -1)
    rotation = cv2.getRotationMatrix2D((150, 100), turn, 1.0)
    return cv2.warpAffine(picture, rotation, (300, 200), borderMode=cv2.BORDER_REPLICATE), box


def _levelness(crop: np.ndarray) -> float:
    """How much of the crop's brightness one band of rows holds: highest for a level bar."""
    rows = crop.astype(np.float32).mean(axis=(1, 2))
    rows -= rows.min()
    return float(np.sort(rows)[-6:].sum() / max(rows.sum(), 1e-6))


@pytest.mark.parametrize("skew", [-12.0, -6.0, 6.0, 12.0])
def test_display_views_turn_a_skewed_display_level_about_its_box(skew):
    picture, box = _level_stripe_picture(skew)
    views = display_views(picture, box)
    assert len(views) == len(DISPLAY_TURNS) and all(view.shape == (40, 128, 3) for view in views)
    assert np.array_equal(views[0], crop_display(picture, box, DISPLAY_SIZE)), "the first view is the picture as it is"
    levelest = max(range(len(views)), key=lambda index: _levelness(views[index]))
    assert DISPLAY_TURNS[levelest] == -skew, "the view that undoes the skew shows the bar level"
    # Turned about the box's centre, the bar stays in the middle of every view.
    for view in views:
        rows = view.astype(np.float32).mean(axis=(1, 2))
        rows -= rows.min()
        assert abs(float((rows * np.arange(len(rows))).sum() / rows.sum()) - 19.5) <= 2


@pytest.mark.parametrize(
    ("picture", "box"),
    [(np.zeros((0, 0, 3), np.uint8), None), (np.zeros((1, 1, 3), np.uint8), Box(0, 0, 1, 1)),
     (np.zeros((50, 50, 3), np.uint8), Box(10, 10, 0, 0)), (np.zeros((50, 50, 3), np.uint8), Box(500, 500, 20, 10))],
)  # fmt: skip
def test_display_views_of_bad_crops_are_black_views_not_errors(picture, box):
    views = display_views(picture, box)
    assert len(views) == len(DISPLAY_TURNS)
    assert all(view.shape == (40, 128, 3) and not view.any() for view in views)


def _recognizer_seeing(views_places: list[np.ndarray]) -> DisplayReader:
    """A DisplayReader whose network sees, crop by crop, the given digit-place probabilities."""
    reader = DisplayReader.__new__(DisplayReader)
    reader.probabilities = (
        lambda crops: (  # type: ignore[method-assign]
            np.stack(views_places[: len(crops)]),
            np.stack([_marker() for _ in crops]),
        )
    )
    return reader


def test_read_views_keeps_what_the_views_agree_on_and_doubts_what_they_dont():
    sure_0905 = _places({" ": 1}, {"9": 1}, {"0": 1}, {"5": 1})
    sure_0935 = _places({" ": 1}, {"9": 1}, {"3": 1}, {"5": 1})
    crop = np.zeros((40, 128, 3), np.uint8)
    agreeing, disagreeing = _recognizer_seeing([sure_0905] * 3 + [sure_0905, sure_0935, sure_0905]).read_views(
        [[crop] * 3, [crop] * 3]
    )
    assert (agreeing.hour, agreeing.minute) == (9, 5) and agreeing.confidence > 0.99
    assert (disagreeing.hour, disagreeing.minute) == (9, 5), "two views of three outvote the third"
    assert disagreeing.confidence < agreeing.confidence - 0.05, "a dissenting view leaves the reading less sure"
    # Displays with different numbers of views keep to their own views.
    first, second = _recognizer_seeing([sure_0905, sure_0935, sure_0935, sure_0935]).read_views([[crop], [crop] * 3])
    assert (first.minute, second.minute) == (5, 35)
    assert _recognizer_seeing([]).read_views([]) == []


def _skewed_rendered_display(seed: int, skew: float) -> tuple[np.ndarray, Box, DrawnTime]:
    """A small rendered display turned by `skew` degrees on a grey picture, damaged as rendered
    clocks are, with the level box around its turned corners (a detector's box)."""
    rng = np.random.default_rng(seed)
    time = DrawnTime(int(rng.integers(0, 24)), int(rng.integers(0, 60)))
    clock = draw_digital(time, random_digital_style(rng), 24, rng).image[..., :3]
    height, width = clock.shape[:2]
    picture = np.full((height * 5, width * 3, 3), 128, np.uint8)
    top, left = (picture.shape[0] - height) // 2, (picture.shape[1] - width) // 2
    picture[top : top + height, left : left + width] = clock
    rotation = cv2.getRotationMatrix2D((picture.shape[1] / 2, picture.shape[0] / 2), skew, 1.0)
    picture = cv2.warpAffine(picture, rotation, picture.shape[1::-1], borderValue=(128, 128, 128))
    corners = np.array(
        [[left, top, 1], [left + width, top, 1], [left, top + height, 1], [left + width, top + height, 1]]
    )
    low, high = (corners @ rotation.T).min(0), (corners @ rotation.T).max(0)
    return damage(picture, rng), Box(low[0], low[1], *(high - low)), time


def test_turned_views_read_skewed_displays_better_than_the_picture_as_it_is():
    from django.conf import settings

    reader = DisplayReader(str(settings.DISPLAY_READER_WEIGHTS), device="cpu")
    upright_right = views_right = 0
    for seed in range(40):
        for skew in (22.0, -22.0):
            picture, box, time = _skewed_rendered_display(seed, skew)
            [upright] = reader.read([crop_display(picture, box, DISPLAY_SIZE)])
            [from_views] = reader.read_views([display_views(picture, box)])
            upright_right += minutes_apart(time.hour, time.minute, upright.hour, upright.minute) <= 1
            views_right += minutes_apart(time.hour, time.minute, from_views.hour, from_views.minute) <= 1
    # Measured with display run 1: 58 and 64 of 80.
    assert views_right > upright_right
