"""The display recognizer's arithmetic: digit places to a time a clock can show, and what it says of AM/PM."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.read.display_reader import DIGIT_CLASSES, MARKERS, DisplayReading, decode_display, digit_class
from pipeline.synth.clocks import DrawnTime, display_sample


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
