import pytest

from pipeline.clock_time import ClockTime, Meridiem, parse_clock_entry
from pipeline.schedule.coverage import Gap, coverage, nearest_earlier_covered, neighbours


def _counts(**at: int) -> list[int]:
    counts = [0] * 1440
    for name, count in at.items():
        hour, minute = name[1:].split("_")
        counts[int(hour) * 60 + int(minute)] = count
    return counts


def test_an_empty_day_is_one_gap_of_the_whole_day():
    summary = coverage([0] * 1440)
    assert summary.covered == 0
    assert summary.longest_gap == Gap(0, 1440)
    assert summary.most_served == ()


def test_a_full_day_has_no_gap():
    assert coverage([1] * 1440).longest_gap is None


def test_the_longest_gap_may_run_past_midnight():
    # Clips at 06:00 and 20:00 only: 20:01 -> 05:59 is 600 minutes, 06:01 -> 19:59 is 839.
    summary = coverage(_counts(m06_00=1, m20_00=1))
    assert summary.longest_gap == Gap(6 * 60 + 1, 839)
    # Clips at 10:00 and 14:00: the gap from 14:01 through midnight to 09:59 is the longest.
    summary = coverage(_counts(m10_00=2, m14_00=1))
    assert summary.longest_gap == Gap(14 * 60 + 1, 1440 - 240 - 2 + 1)


def test_the_most_served_minutes_come_first_and_ties_by_time():
    summary = coverage(_counts(m10_00=2, m14_00=5, m09_00=2, m23_59=1), top=3)
    assert summary.covered == 4
    assert summary.most_served == ((14 * 60, 5), (9 * 60, 2), (10 * 60, 2))


def test_it_refuses_a_day_of_the_wrong_length():
    with pytest.raises(ValueError):
        coverage([0] * 60)


@pytest.mark.parametrize(
    ("text", "time", "says_meridiem"),
    [
        ("10:42", ClockTime(10, 42), False),
        (" 1042 ", ClockTime(10, 42), False),
        ("10:42 pm", ClockTime(10, 42, Meridiem.PM), True),
        ("10:42AM", ClockTime(10, 42, Meridiem.AM), True),
        ("10.42 p.m.", ClockTime(10, 42, Meridiem.PM), True),
        ("22:42", ClockTime(10, 42, Meridiem.PM), True),
        ("0:05", ClockTime(12, 5, Meridiem.AM), True),
        ("12:30", ClockTime(12, 30), False),
    ],
)
def test_a_curator_types_a_clock_time_as_the_clock_shows_it(text, time, says_meridiem):
    assert parse_clock_entry(text) == (time, says_meridiem)


@pytest.mark.parametrize("text", ["", "10", "10:60", "24:00", "13:00 pm", "ten past", "10:42 xm", "1:2"])
def test_a_time_that_is_not_a_clock_time_is_refused_clearly(text):
    with pytest.raises(ValueError, match="time"):
        parse_clock_entry(text)


def test_neighbours_and_the_borrowed_minute_wrap_past_midnight():
    counts = _counts(m23_58=2)
    assert neighbours(counts, 0, reach=2) == [(1438, 2), (1439, 0), (0, 0), (1, 0), (2, 0)]
    assert nearest_earlier_covered(counts, 5) == 1438
    assert nearest_earlier_covered(counts, 1438) == 1438
    assert nearest_earlier_covered([0] * 1440, 5) is None
