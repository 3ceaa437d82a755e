"""The review queue: which clocks curators are asked about, what confirming, correcting or
dismissing one does to the catalog and the schedule at once, and the export of their answers."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from catalog import selectors
from catalog.models import ClockSighting, Snippet, TimeReading, Video
from pipeline.labels import read_labels
from pipeline.synth.clock_video import Shot, render_clock_video
from pipeline.synth.clocks import DrawnTime
from tests.catalog.test_scan_service import _video_with

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 21).toordinal()


@pytest.fixture
def film(tmp_path) -> Video:
    """Twelve seconds of a clock showing 10:42 (the clock is drawn near the middle of the frame)."""
    return _video_with(render_clock_video(tmp_path / "film.mp4", [Shot(12, DrawnTime(10, 42, 10), "analog", seed=3)]))


@pytest.fixture
def curator() -> User:
    return User.objects.create_user("curator", password="pw", is_staff=True)


def _sighting(video: Video, *, start: float = 1.0, end: float = 9.0, rejection: str = "") -> ClockSighting:
    boxes = [[second, 200.0, 100.0, 160.0, 160.0, 0.9] for second in (start, (start + end) / 2, end)]
    return ClockSighting.objects.create(video=video, start_seconds=start, end_seconds=end, kind="analog",
                                        boxes=boxes, confidence=0.9, rejection=rejection)  # fmt: skip


def _reading(sighting: ClockSighting, hour: int, minute: int, *, meridiem: str = "pm", confidence: float = 0.4,
             status: str = TimeReading.Status.UNCERTAIN, shown_at: float = -20.0) -> TimeReading:  # fmt: skip
    return TimeReading.objects.create(sighting=sighting, hour=hour, minute=minute, meridiem=meridiem,
                                      confidence=confidence, method=TimeReading.Method.ANALOG_MODEL, status=status,
                                      shown_at_seconds=shown_at)  # fmt: skip


def _snippet(reading: TimeReading, minute_of_day: int) -> Snippet:
    return Snippet.objects.create(video=reading.sighting.video, reading=reading, start_seconds=0.0, end_seconds=12.0,
                                  minute_of_day=minute_of_day, status=Snippet.Status.READY,
                                  file=f"snippets/{reading.pk}.mp4")  # fmt: skip


def _review(curator: User, sighting: ClockSighting, **body) -> dict:
    client = APIClient()
    client.force_authenticate(curator)
    response = client.post(f"/api/sightings/{sighting.pk}/review/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_queue_holds_unsure_uncertain_and_conflicting_clocks_only(film, curator):
    sure = _reading(_sighting(film), 3, 0, confidence=0.9, status=TimeReading.Status.ACCEPTED)
    uncertain = _reading(_sighting(film), 4, 0, confidence=0.45)
    unsure = _reading(_sighting(film), 5, 0, confidence=0.55, status=TimeReading.Status.ACCEPTED)
    conflict = _sighting(film, rejection="frames disagree: 4:10 against 8:20")
    verified = _reading(_sighting(film), 6, 0, confidence=0.3)
    TimeReading.objects.filter(pk=verified.pk).update(verified_by=curator, verified_at="2026-11-21T10:00Z")
    reviewed = _reading(_sighting(film), 7, 0, confidence=0.3)
    ClockSighting.objects.filter(pk=reviewed.sighting_id).update(reviewed_at="2026-11-21T10:00Z")
    not_downloaded = _reading(_sighting(Video.objects.create(extractor="x", external_id="y")), 8, 0, confidence=0.1)

    items, total = selectors.review_queue()

    assert [item.sighting.pk for item in items] == [conflict.pk, uncertain.sighting_id, unsure.sighting_id]
    assert total == 3
    assert items[0].reading is None and items[1].reading == uncertain
    assert sure.sighting_id not in {item.sighting.pk for item in items}
    assert not_downloaded.sighting_id not in {item.sighting.pk for item in items}


def test_a_correction_is_verified_and_moves_the_clip_at_once(film, curator):
    reading = _reading(_sighting(film), 10, 40, confidence=0.4, status=TimeReading.Status.ACCEPTED, shown_at=-25.0)
    snippet = _snippet(reading, 22 * 60 + 40)
    assert selectors.minute_plan(minute_of_day=22 * 60 + 40, day=DAY).snippet == snippet

    answer = _review(curator, reading.sighting, time="10:42")

    reading.refresh_from_db()
    assert (reading.hour, reading.minute, reading.meridiem) == (10, 42, "pm"), "10:42 alone keeps the reading's PM"
    assert reading.method == TimeReading.Method.MANUAL and reading.confidence == 1.0
    assert reading.verified_by == curator and reading.status == TimeReading.Status.ACCEPTED
    assert reading.shown_at_seconds == -25.0, "the crop showed the minute where the reading said; the clip stays"
    assert answer["minute"] == "22:42" and answer["remaining"] == 0
    assert Snippet.objects.get(pk=snippet.pk).minute_of_day == 22 * 60 + 42
    assert selectors.minute_plan(minute_of_day=22 * 60 + 42, day=DAY).snippet == snippet
    assert selectors.minute_plan(minute_of_day=22 * 60 + 40, day=DAY).fallback
    assert not selectors.review_queue()[0]


def test_an_entry_with_am_pm_or_a_24_hour_hour_sets_the_half_of_the_day(film, curator):
    morning = _reading(_sighting(film), 10, 40)
    evening = _reading(_sighting(film), 10, 40, meridiem="unknown")
    _review(curator, morning.sighting, time="10:42 am")
    _review(curator, evening.sighting, time="22:41")
    morning.refresh_from_db()
    evening.refresh_from_db()
    assert (morning.hour, morning.minute, morning.meridiem) == (10, 42, "am")
    assert (evening.hour, evening.minute, evening.meridiem) == (10, 41, "pm")


def test_confirming_keeps_the_time_and_cuts_the_clip_an_uncertain_reading_lacked(film, curator):
    reading = _reading(_sighting(film), 10, 42, confidence=0.45, shown_at=-25.0)
    assert not Snippet.objects.filter(reading=reading).exists(), "uncertain readings are not cut"

    answer = _review(curator, reading.sighting)

    reading.refresh_from_db()
    assert (reading.hour, reading.minute, reading.confidence) == (10, 42, 0.45)
    assert reading.is_verified and reading.status == TimeReading.Status.ACCEPTED
    snippet = Snippet.objects.get(reading=reading)
    assert snippet.minute_of_day == 22 * 60 + 42 and answer["minute"] == "22:42" and answer["warning"] == ""
    assert (Path(settings.MEDIA_ROOT) / snippet.file.name).stat().st_size > 1000
    assert selectors.minute_plan(minute_of_day=22 * 60 + 42, day=DAY).snippet == snippet


def test_a_clock_whose_frames_disagreed_gets_the_typed_reading_and_a_clip(film, curator):
    sighting = _sighting(film, start=2.0, end=10.0, rejection="frames disagree")

    _review(curator, sighting, time="10:42 pm")

    reading = TimeReading.objects.get(sighting=sighting)
    assert (reading.hour, reading.minute, reading.meridiem, reading.method) == (10, 42, "pm", "manual")
    assert reading.shown_at_seconds == 6.0 - 30, "the typed time is what the clock shows mid-sighting"
    snippet = Snippet.objects.get(reading=reading)
    assert snippet.minute_of_day == 22 * 60 + 42 and snippet.status == Snippet.Status.READY
    assert ClockSighting.objects.get(pk=sighting.pk).reviewed_by == curator


def test_not_a_clock_takes_its_clip_off_the_schedule(film, curator):
    reading = _reading(_sighting(film), 1, 0, status=TimeReading.Status.ACCEPTED)
    snippet = _snippet(reading, 13 * 60)

    answer = _review(curator, reading.sighting, not_a_clock=True)

    assert answer["reading"] is None and answer["minute"] is None
    reading.refresh_from_db()
    assert reading.status == TimeReading.Status.REJECTED and reading.is_verified
    assert Snippet.objects.get(pk=snippet.pk).status == Snippet.Status.HIDDEN
    assert selectors.minute_plan(minute_of_day=13 * 60, day=DAY).snippet is None
    assert not selectors.review_queue()[0]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"time": "25:99"}, "time"), ({"time": "ten to"}, "time"), ({"time": "10:42", "not_a_clock": True}, "time"),
     ({}, "time")],
)  # fmt: skip
def test_bad_entries_are_clear_errors_and_change_nothing(film, curator, body, field):
    sighting = _sighting(film, rejection="frames disagree")  # nothing proposed: an empty answer can't confirm
    client = APIClient()
    client.force_authenticate(curator)
    response = client.post(f"/api/sightings/{sighting.pk}/review/", body, format="json")
    assert response.status_code == 400
    assert field in response.json() and response.json()[field]
    assert not TimeReading.objects.exists()
    assert ClockSighting.objects.get(pk=sighting.pk).reviewed_at is None


def test_only_curators_review(film):
    sighting = _sighting(film, rejection="frames disagree")
    assert APIClient().post(f"/api/sightings/{sighting.pk}/review/", {"time": "1:00"}, format="json").status_code in {
        401,
        403,
    }
    viewer = APIClient()
    viewer.force_authenticate(User.objects.create_user("viewer"))
    assert viewer.post(f"/api/sightings/{sighting.pk}/review/", {"time": "1:00"}, format="json").status_code == 403
    for path in ("/review/", "/review/export.zip", f"/review/{sighting.pk}/crop.jpg"):
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), path
    assert not TimeReading.objects.exists()


def test_the_review_page_shows_each_clock_with_its_pictures(film, curator):
    reading = _reading(_sighting(film), 10, 40)
    client = Client()
    client.force_login(curator)

    page = client.get("/review/")

    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-sighting="{reading.sighting_id}"' in html and "10:40 PM" in html
    crop = client.get(f"/review/{reading.sighting_id}/crop.jpg")
    assert crop["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(b"".join(crop.streaming_content)))
    assert image.width == 240
    frame = Image.open(io.BytesIO(b"".join(client.get(f"/review/{reading.sighting_id}/middle.jpg").streaming_content)))
    assert frame.width == 320 and frame.height == 180
    assert client.get(f"/review/{reading.sighting_id}/secret.jpg").status_code == 404


def test_the_reviewed_readings_export_as_a_set_eval_reader_reads(film, curator, tmp_path):
    corrected = _reading(_sighting(film, start=1.0, end=11.0), 10, 40, shown_at=-20.0)
    dismissed = _reading(_sighting(film), 3, 0)
    _review(curator, corrected.sighting, time="10:42")
    _review(curator, dismissed.sighting, not_a_clock=True)
    client = Client()
    client.force_login(curator)

    archive = zipfile.ZipFile(io.BytesIO(client.get("/review/export.zip").content))
    archive.extractall(tmp_path / "zip")
    call_command("export_reviewed", str(tmp_path / "set"), stdout=StringIO())

    for folder in (tmp_path / "zip" / "reviewed", tmp_path / "set"):
        rows = read_labels(folder)
        # Only the reading a curator vouched for; at its review moment (10 s) the clock shows 10:42.
        assert [(row.hour, row.minute, row.box, row.kind) for row in rows] == [(10, 42, (200, 100, 160, 160), "analog")]
        assert Image.open(folder / rows[0].file).size == (640, 360)
    out = StringIO()
    call_command("eval_reader", str(tmp_path / "set"), "--json", stdout=out)
    assert json.loads(out.getvalue())["n"] == 1
