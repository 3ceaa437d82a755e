"""/api/now: the clip for the viewer's wall-clock minute, then the next ones."""

from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from pipeline.clock_time import Meridiem
from tests.support import make_snippet

pytestmark = pytest.mark.django_db


def _now(at: str, tz: str, upcoming: int = 3) -> dict:
    response = APIClient().get("/api/now", {"tz": tz, "at": at, "upcoming": upcoming})
    assert response.status_code == 200, response.content
    return response.json()


def _minutes(body: dict) -> list[str]:
    return [clip["minute"] for clip in [body["current"], *body["upcoming"]]]


def test_it_plays_the_snippet_of_the_current_local_minute_aligned_to_its_clock():
    snippet = make_snippet(14 * 60 + 3, start=20.0, shown_at=26.0)

    body = _now("2026-06-01T12:03:41Z", "Europe/Paris", upcoming=0)

    current = body["current"]
    assert body["time_zone"] == "Europe/Paris"
    assert current["minute"] == "14:03"
    assert current["fallback"] is False
    assert current["fallback_from"] is None
    assert current["snippet"]["id"] == snippet.pk
    assert current["offset_seconds"] == pytest.approx(6.0)
    assert datetime.fromisoformat(current["starts_at"]) == datetime(2026, 6, 1, 14, 3, tzinfo=ZoneInfo("Europe/Paris"))


def test_a_minute_without_a_snippet_falls_back_to_the_nearest_earlier_one():
    earlier = make_snippet(9 * 60 + 58)
    make_snippet(10 * 60 + 30)

    body = _now("2026-06-01T10:00:10", "UTC", upcoming=1)

    assert body["current"]["minute"] == "10:00"
    assert body["current"]["fallback"] is True
    assert body["current"]["fallback_from"] == "09:58"
    assert body["current"]["snippet"]["id"] == earlier.pk
    assert body["current"]["offset_seconds"] == 0


def test_the_fallback_wraps_back_across_midnight():
    late = make_snippet(23 * 60 + 50)
    make_snippet(0 * 60 + 2)

    body = _now("2026-06-02T00:00:30", "UTC", upcoming=3)

    assert _minutes(body) == ["00:00", "00:01", "00:02", "00:03"]
    assert [c["fallback"] for c in [body["current"], *body["upcoming"]]] == [True, True, False, True]
    assert body["current"]["fallback_from"] == "23:50"
    assert body["current"]["snippet"]["id"] == late.pk
    assert body["upcoming"][2]["fallback_from"] == "00:02"


def test_the_next_minutes_cross_midnight_into_the_next_day():
    make_snippet(23 * 60 + 59)
    make_snippet(0)

    body = _now("2026-12-31T23:59:59", "UTC", upcoming=1)

    assert _minutes(body) == ["23:59", "00:00"]
    assert datetime.fromisoformat(body["upcoming"][0]["starts_at"]).date().isoformat() == "2027-01-01"


def test_it_follows_the_wall_clock_when_clocks_spring_forward():
    # New York, 8 March 2026: at 02:00 EST clocks jump to 03:00 EDT; 02:xx never happens.
    for minute_of_day in (1 * 60 + 59, 2 * 60, 3 * 60, 3 * 60 + 1):
        make_snippet(minute_of_day)

    body = _now("2026-03-08T01:59:30-05:00", "America/New_York", upcoming=2)

    assert _minutes(body) == ["01:59", "03:00", "03:01"]
    assert all(not c["fallback"] for c in [body["current"], *body["upcoming"]])
    starts = [datetime.fromisoformat(c["starts_at"]) for c in [body["current"], *body["upcoming"]]]
    assert [(b - a).total_seconds() for a, b in pairwise(starts)] == [60, 60]
    assert starts[1].utcoffset().total_seconds() == -4 * 3600


def test_it_repeats_the_hour_when_clocks_fall_back():
    # New York, 1 November 2026: at 02:00 EDT clocks go back to 01:00 EST.
    make_snippet(1 * 60 + 59)
    make_snippet(1 * 60)

    body = _now("2026-11-01T01:59:00-04:00", "America/New_York", upcoming=1)

    assert _minutes(body) == ["01:59", "01:00"]
    assert body["upcoming"][0]["fallback"] is False


def test_a_time_without_an_offset_is_read_in_the_requested_zone():
    make_snippet(8 * 60)
    body = _now("2026-06-01T08:00:00", "Asia/Tokyo", upcoming=0)
    assert body["current"]["minute"] == "08:00"
    assert datetime.fromisoformat(body["current"]["starts_at"]).utcoffset().total_seconds() == 9 * 3600


def test_a_snippet_without_am_pm_plays_in_the_afternoon_too():
    unknown = make_snippet(4 * 60 + 20, meridiem=Meridiem.UNKNOWN)
    body = _now("2026-06-01T16:20:00Z", "UTC", upcoming=0)
    assert body["current"]["fallback"] is False
    assert body["current"]["snippet"]["id"] == unknown.pk


def test_an_empty_catalog_answers_with_no_snippet():
    body = _now("2026-06-01T16:20:00Z", "UTC", upcoming=1)
    assert body["current"]["snippet"] is None
    assert body["current"]["fallback"] is False


def test_without_parameters_it_uses_the_current_time():
    make_snippet(0)
    response = APIClient().get("/api/now")
    assert response.status_code == 200
    body = response.json()
    assert len(body["upcoming"]) == 3
    assert body["current"]["snippet"]["minute"] == "00:00"


def test_minutes_start_on_the_local_clock_even_with_odd_historical_offsets():
    # Amsterdam in 1900 ran on local mean time, UTC+00:19:32.
    body = _now("1900-06-01T12:00:45", "Europe/Amsterdam", upcoming=1)
    starts = [datetime.fromisoformat(c["starts_at"]) for c in [body["current"], *body["upcoming"]]]
    assert [(s.hour, s.minute, s.second) for s in starts] == [(12, 0, 0), (12, 1, 0)]


def test_the_pieces_of_a_minute_fill_it_and_the_lead_runs_with_the_wall_clock():
    lead = make_snippet(10 * 60, start=20.0, shown_at=26.0, confidence=0.95)
    other = make_snippet(10 * 60, start=5.0, shown_at=0.0, confidence=0.5)

    pieces = _now("2026-06-01T10:00:30Z", "UTC", upcoming=0)["current"]["pieces"]

    assert sum(piece["length"] for piece in pieces) == pytest.approx(60.0)
    assert [piece["at"] for piece in pieces] == pytest.approx(
        [sum(p["length"] for p in pieces[:i]) for i in range(len(pieces))]
    )
    leads = [piece for piece in pieces if piece["snippet"]["id"] == lead.pk and piece["at"] == 0]
    # The lead's clock shows 10:00:00 six seconds into its clip: it plays from there at 10:00:00.
    assert leads and leads[0]["play_from"] == pytest.approx(6.0)
    assert other.pk in {piece["snippet"]["id"] for piece in pieces}, "the minute's other clip fills the rest"


def test_an_empty_minute_is_a_card_in_the_pieces():
    pieces = _now("2026-06-01T10:00:30Z", "UTC", upcoming=0)["current"]["pieces"]
    assert pieces == [{"at": 0.0, "play_from": 0.0, "length": 60.0, "card": True, "snippet": None}]


def test_the_schedule_takes_in_new_snippets_as_they_arrive():
    make_snippet(10 * 60 + 1)
    before = _now("2026-06-01T10:05:00Z", "UTC", upcoming=0)["current"]
    assert before["fallback"] is True

    arrived = make_snippet(10 * 60 + 5)
    after = _now("2026-06-01T10:05:00Z", "UTC", upcoming=0)["current"]

    assert after["fallback"] is False and after["snippet"]["id"] == arrived.pk


def test_a_hidden_snippet_leaves_the_schedule():
    snippet = make_snippet(10 * 60 + 5)
    assert _now("2026-06-01T10:05:00Z", "UTC", upcoming=0)["current"]["snippet"]["id"] == snippet.pk
    snippet.status = snippet.Status.HIDDEN
    snippet.save()
    assert _now("2026-06-01T10:05:00Z", "UTC", upcoming=0)["current"]["snippet"] is None
