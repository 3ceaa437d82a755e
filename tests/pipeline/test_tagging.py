"""Zero-shot tag arithmetic: probabilities, appearance stretches, and AM/PM from daylight."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.search.tagging import (
    DEFAULT_CONCEPTS,
    Segment,
    appearance_segments,
    concept_probabilities,
    pair_probability,
    propose_meridiem,
)


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, np.float32)
    return vector / np.linalg.norm(vector)


def test_each_frame_s_probabilities_sum_to_one_and_favour_the_nearest_concept():
    frames = np.stack([_unit(1, 0.1, 0), _unit(0, 0, 1)])
    concepts = np.stack([_unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)])

    probabilities = concept_probabilities(frames, concepts)

    assert probabilities.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert probabilities.argmax(axis=1).tolist() == [0, 2]
    assert probabilities[0, 0] > 0.99


def test_a_pair_compares_two_concepts_alone():
    frames = np.stack([_unit(1, 0), _unit(0.7, 0.7), _unit(0, 1)])
    daylight = pair_probability(frames, _unit(1, 0), _unit(0, 1))
    assert daylight[0] > 0.99 and daylight[1] == pytest.approx(0.5) and daylight[2] < 0.01


def test_appearances_join_neighbouring_frames_into_stretches():
    seconds = [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    present = [False, True, True, False, False, True]

    segments = appearance_segments(seconds, present, gap=10.0)

    assert segments == [Segment(5.0, 25.0), Segment(45.0, 55.0)]


def test_a_frame_far_from_its_neighbours_stands_for_at_most_the_gap():
    assert appearance_segments([0.0, 100.0], [True, False], gap=10.0) == [Segment(0.0, 5.0)]
    assert appearance_segments([], [], gap=10.0) == []


@pytest.mark.parametrize(
    ("hour", "daylight", "expected"),
    [(3, 0.95, "pm"), (3, 0.05, "am"), (9, 0.9, "am"), (9, 0.1, "pm"), (12, 0.9, "pm"), (12, 0.1, "am")],
)
def test_daylight_proposes_the_half_of_the_day(hour, daylight, expected):
    proposal, confidence = propose_meridiem(hour, daylight)
    assert proposal == expected
    assert confidence == pytest.approx(abs(2 * daylight - 1), abs=1e-4)


def test_six_o_clock_and_an_undecided_scene_give_no_confidence():
    assert propose_meridiem(6, 0.99) == ("unknown", 0.0)
    assert propose_meridiem(4, 0.5)[1] == 0.0


def test_the_default_vocabulary_has_about_two_hundred_distinct_concepts_with_day_night_indoor_outdoor():
    assert 180 <= len(set(DEFAULT_CONCEPTS)) == len(DEFAULT_CONCEPTS) <= 220
    assert {"daytime", "night", "indoors", "outdoors"} <= set(DEFAULT_CONCEPTS)
