import pytest

from pipeline.read.fit import Disagreement, FrameReading, fit_time


def _running(start_hour: int, start_minute: int, seconds: list[float], *, offset_seconds: float = 0.0,
             confidence: float = 0.9) -> list[FrameReading]:  # fmt: skip
    """Readings of a running clock that shows start_hour:start_minute:offset at second 0."""
    readings = []
    for second in seconds:
        total = start_hour % 12 * 60 + start_minute + (second + offset_seconds) / 60
        whole = int(total) % 720
        readings.append(FrameReading(second, whole // 60 or 12, whole % 60, confidence))
    return readings


def test_a_clock_read_the_same_in_every_frame_gives_that_time():
    fitted = fit_time([FrameReading(s, 10, 42, 0.9) for s in (3.0, 3.5, 4.0, 4.5)])
    assert (fitted.hour, fitted.minute, fitted.meridiem) == (10, 42, "unknown")
    assert fitted.inliers == 4 and fitted.outliers == 0
    assert fitted.confidence == pytest.approx(0.9)


def test_a_running_clock_is_followed_across_a_minute_change_and_placed_to_the_second():
    # Shows 9:59:40 at second 0; frames every 5 s for 50 s, so it turns 10:00 at second 20.
    readings = _running(9, 59, [float(s) for s in range(0, 51, 5)], offset_seconds=40)

    fitted = fit_time(readings)

    assert fitted.running
    assert (fitted.hour, fitted.minute) == (9, 59)
    assert fitted.shown_at_second == pytest.approx(-40, abs=5)
    assert fitted.outliers == 0


def test_outliers_are_dropped():
    readings = [FrameReading(s, 3, 15, 0.8) for s in (0.0, 0.5, 1.0, 1.5, 2.0)]
    readings.append(FrameReading(2.5, 8, 40, 0.95))
    fitted = fit_time(readings)
    assert (fitted.hour, fitted.minute) == (3, 15)
    assert fitted.outliers == 1
    assert fitted.confidence < 0.8


def test_frames_that_disagree_reject_the_sighting():
    readings = [FrameReading(0.0, 3, 15, 0.9), FrameReading(0.5, 7, 40, 0.9), FrameReading(1.0, 11, 5, 0.9)]
    with pytest.raises(Disagreement, match="frames disagree: only 1 of 3 agree"):
        fit_time(readings)


def test_one_frame_is_not_enough():
    with pytest.raises(Disagreement, match="only 1 readable frame"):
        fit_time([FrameReading(0.0, 3, 15, 0.9)])


def test_readings_either_side_of_twelve_agree():
    readings = [FrameReading(0.0, 12, 0, 0.9), FrameReading(0.5, 11, 59, 0.9), FrameReading(1.0, 12, 0, 0.9)]
    fitted = fit_time(readings)
    assert fitted.outliers == 0
    assert (fitted.hour, fitted.minute) in {(12, 0), (11, 59)}


def test_am_pm_is_known_only_when_most_frames_say_it():
    said = [FrameReading(s, 9, 5, 0.9, "pm") for s in (0.0, 0.5, 1.0)]
    assert fit_time(said).meridiem == "pm"
    mostly_unsaid = [FrameReading(0.0, 9, 5, 0.9, "pm"), *[FrameReading(s, 9, 5, 0.9) for s in (0.5, 1.0)]]
    assert fit_time(mostly_unsaid).meridiem == "unknown"


def test_a_stopped_clock_is_recognised_over_a_long_sighting():
    readings = [FrameReading(float(s), 4, 20, 0.9) for s in range(0, 300, 10)]
    fitted = fit_time(readings)
    assert not fitted.running
    assert (fitted.hour, fitted.minute) == (4, 20)
    assert fitted.shown_at_second == 0.0


def test_readings_a_minute_either_side_agree_on_the_minute_between():
    readings = [FrameReading(0.0, 3, 14, 0.8), FrameReading(0.5, 3, 16, 0.8), FrameReading(1.0, 3, 15, 0.8)]
    readings.append(FrameReading(1.5, 3, 16, 0.8))
    fitted = fit_time(readings)
    assert fitted.outliers == 0
    assert (fitted.hour, fitted.minute) == (3, 15)
