import pytest

from pipeline.clock_time import ClockTime, Meridiem, format_minute_of_day, parse_minute_of_day


@pytest.mark.parametrize(
    ("text", "minute_of_day"),
    [("00:00", 0), ("0:05", 5), ("09:05", 545), ("12:00", 720), ("23:59", 1439), (" 13:30 ", 810)],
)
def test_it_parses_24_hour_times(text, minute_of_day):
    assert parse_minute_of_day(text) == minute_of_day


@pytest.mark.parametrize("text", ["24:00", "12:60", "7", "ab:cd", "", "12:5", "-1:00", "123:00", "12:00:00"])
def test_it_rejects_what_is_not_a_time_of_day(text):
    with pytest.raises(ValueError, match="time"):
        parse_minute_of_day(text)


def test_it_formats_minutes_of_day_and_refuses_out_of_range():
    assert format_minute_of_day(0) == "00:00"
    assert format_minute_of_day(1439) == "23:59"
    with pytest.raises(ValueError):
        format_minute_of_day(1440)


@pytest.mark.parametrize(
    ("clock", "slots"),
    [
        (ClockTime(12, 0, Meridiem.AM), (0,)),
        (ClockTime(12, 0, Meridiem.PM), (720,)),
        (ClockTime(3, 15, Meridiem.PM), (915,)),
        (ClockTime(3, 15), (195, 915)),
        (ClockTime(12, 30), (30, 750)),
    ],
)
def test_a_clock_without_am_pm_serves_both_slots(clock, slots):
    assert clock.minutes_of_day == slots


@pytest.mark.parametrize(("hour", "minute"), [(0, 0), (13, 0), (5, 60), (5, -1)])
def test_it_refuses_impossible_clock_faces(hour, minute):
    with pytest.raises(ValueError):
        ClockTime(hour, minute)
