import pytest

from pipeline.clock_time import minutes_apart
from pipeline.geometry import Box
from pipeline.synth.evaluation import ReaderCase, detector_scores, reader_scores, recall_at_precision, recall_by_size


@pytest.mark.parametrize(
    ("a", "b", "apart"),
    [
        ((12, 0), (11, 59), 1),
        ((3, 15), (3, 15), 0),
        ((1, 0), (11, 0), 120),
        ((6, 0), (12, 0), 360),
        ((12, 30), (0, 31), 1),
    ],
)
def test_minutes_apart_wraps_around_the_dial(a, b, apart):
    assert minutes_apart(*a, *b) == apart


def test_reader_scores_follow_the_definitions():
    cases = [
        ReaderCase(3, 15, 3, 15),  # right
        ReaderCase(3, 15, 3, 16),  # within a minute: right
        ReaderCase(12, 0, 11, 59),  # across 12:00: right, but the hour differs
        ReaderCase(3, 15, 4, 15),  # wrong hour, right minute
        ReaderCase(3, 15, None, None),  # unreadable
    ]
    assert reader_scores(cases) == {"n": 5, "top1": 0.6, "hour_acc": 0.4, "minute_acc": 0.8, "unreadable": 1}


def test_reader_scores_of_nothing_are_zero():
    assert reader_scores([]) == {"n": 0, "top1": 0.0, "hour_acc": 0.0, "minute_acc": 0.0, "unreadable": 0}


def test_detector_scores_match_each_true_box_once_at_iou_half():
    truth = {"a.jpg": [Box(0, 0, 10, 10), Box(50, 50, 10, 10)], "empty.jpg": []}
    found = {
        "a.jpg": [(Box(0, 0, 10, 10), 0.9), (Box(1, 1, 10, 10), 0.8), (Box(200, 200, 5, 5), 0.7)],
        "empty.jpg": [(Box(0, 0, 4, 4), 0.6)],
    }
    scores = detector_scores(truth, found)
    assert scores["recall"] == 0.5  # the second clock was missed
    assert scores["precision"] == 0.25  # a duplicate, a stray box and a box where there is no clock
    assert (scores["images"], scores["clocks"], scores["detections"]) == (2, 2, 4)
    assert (scores["clockless_images"], scores["detections_on_clockless"]) == (1, 1)


def test_recall_at_precision_picks_the_best_threshold_that_keeps_precision():
    truth = {"a.jpg": [Box(0, 0, 10, 10), Box(50, 50, 10, 10)], "b.jpg": [Box(0, 0, 10, 10)]}
    found = {
        "a.jpg": [(Box(0, 0, 10, 10), 0.9), (Box(50, 50, 10, 10), 0.4)],
        "b.jpg": [(Box(30, 30, 10, 10), 0.6), (Box(0, 0, 10, 10), 0.3)],
    }
    # At 0.9: 1/3 recall, precision 1. At 0.6: a false box, precision 0.5. Lower: recall 1 but precision 0.75.
    assert recall_at_precision(truth, found, precision=0.9) == {"recall": 0.3333, "precision": 1.0, "threshold": 0.9}
    assert recall_at_precision(truth, found, precision=0.7)["recall"] == 1.0


def test_recall_by_size_groups_clocks_by_their_larger_side():
    truth = {"a.jpg": [Box(0, 0, 20, 30), Box(100, 100, 50, 50), Box(300, 0, 120, 90)], "b.jpg": [Box(0, 0, 10, 10)]}
    found = {"a.jpg": [(Box(0, 0, 20, 30), 0.9), (Box(300, 0, 120, 90), 0.8)], "b.jpg": []}
    assert recall_by_size(truth, found) == {
        "<40px": {"clocks": 2, "recall": 0.5},
        "40-80px": {"clocks": 1, "recall": 0.0},
        ">=80px": {"clocks": 1, "recall": 1.0},
    }
