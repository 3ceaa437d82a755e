"""Malformed API parameters: every one is a 4xx that names the parameter, never a 500, and a
refused write writes nothing."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django_q.models import OrmQ
from rest_framework.test import APIClient

from catalog.models import ClockSighting, Source, TimeReading
from tests.support import make_video

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"

READS = {
    "now-unknown-zone": ("/api/now?tz=Mars/Olympus_Mons", "tz"),
    "now-zone-as-a-path": ("/api/now?tz=../../../etc/passwd", "tz"),
    "now-zone-nul": ("/api/now?tz=%00", "tz"),
    "now-zone-huge": ("/api/now?tz=" + "A" * 5000, "tz"),
    "now-time-in-words": ("/api/now?at=yesterday", "at"),
    "now-day-that-does-not-exist": ("/api/now?at=2026-02-30T10:00", "at"),
    "now-time-nan": ("/api/now?at=NaN", "at"),
    "now-offset-out-of-range": ("/api/now?at=2026-01-01T10:00%2B99:00", "at"),
    "now-end-of-the-calendar": ("/api/now?at=9999-12-31T23:59:00Z", "at"),
    "now-time-huge": ("/api/now?at=" + "2" * 5000, "at"),
    "now-upcoming-too-many": ("/api/now?upcoming=1000", "upcoming"),
    "now-upcoming-negative": ("/api/now?upcoming=-1", "upcoming"),
    "now-upcoming-as-a-float": ("/api/now?upcoming=1e3", "upcoming"),
    "snippets-minute-24h": ("/api/snippets/?minute=24:00", "minute"),
    "snippets-minute-negative": ("/api/snippets/?minute=-1:30", "minute"),
    "snippets-minute-in-words": ("/api/snippets/?minute=noon", "minute"),
    "snippets-minute-nul": ("/api/snippets/?minute=%00", "minute"),
    "snippets-minute-huge": ("/api/snippets/?minute=" + "9" * 5000, "minute"),
    "snippets-video-nan": ("/api/snippets/?video=NaN", "video"),
    "snippets-video-huge": ("/api/snippets/?video=" + HUGE, "video"),
    "search-nothing-to-search-with": ("/api/search", "detail"),
    "search-q-as-an-array": ("/api/search?q[]=clock", "detail"),
    "search-q-too-long": ("/api/search?q=" + "x" * 501, "q"),
    "search-q-nul": ("/api/search?q=clock%00", "q"),
    "search-page-zero": ("/api/search?q=clock&page=0", "page"),
    "search-page-in-words": ("/api/search?q=clock&page=two", "page"),
    "search-page-huge": ("/api/search?q=clock&page=" + HUGE, "page"),
    "search-page-size-huge": ("/api/search?q=clock&page_size=1000", "page_size"),
    "search-duration-nan": ("/api/search?q=clock&min_duration=NaN", "min_duration"),
    "search-duration-infinite": ("/api/search?q=clock&max_duration=inf", "max_duration"),
    "search-duration-negative": ("/api/search?q=clock&max_duration=-1", "max_duration"),
    "search-frame-in-words": ("/api/search?frame=first", "frame"),
    "search-frame-huge": ("/api/search?frame=" + HUGE, "frame"),
    "search-frame-missing": ("/api/search?frame=999999", "frame"),
    "search-half-a-minute-range": ("/api/search?q=clock&minute_from=10:00", "minute_to"),
    "search-minute-out-of-range": ("/api/search?q=clock&minute_from=25:00&minute_to=10:00", "minute_from"),
    "search-meridiem-unknown-word": ("/api/search?q=clock&meridiem=noon", "meridiem"),
    "search-tag-too-long": ("/api/search?q=clock&tag=" + "t" * 101, "tag"),
    "search-video-zero": ("/api/search?q=clock&video=0", "video"),
    "videos-unknown-status": ("/api/videos/?status=exploded", "status"),
    "videos-status-nul": ("/api/videos/?status=%00", "status"),
    "videos-source-in-words": ("/api/videos/?source=mine", "source"),
    "appearances-no-tag": ("/api/videos/{video}/appearances/", "tag"),
    "appearances-tag-too-long": ("/api/videos/{video}/appearances/?tag=" + "t" * 101, "tag"),
    "appearances-tag-not-in-vocabulary": ("/api/videos/{video}/appearances/?tag=a%20nuclear%20clock", "tag"),
    "appearances-tag-nul": ("/api/videos/{video}/appearances/?tag=%00", "tag"),
}


@pytest.mark.parametrize(("url", "field"), READS.values(), ids=READS.keys())
def test_a_malformed_query_is_a_400_that_names_the_parameter(url, field):
    video = make_video()
    response = APIClient().get(url.format(video=video.pk))
    assert response.status_code == 400, response.content
    message = response.json()[field]
    assert message and (message[0] if isinstance(message, list) else message)


NOT_FOUND = {
    "video-id-huge": "/api/videos/" + HUGE + "/",
    "tags-of-a-video-id-huge": "/api/videos/" + HUGE + "/tags/",
    "appearances-of-a-missing-video": "/api/videos/99999999/appearances/?tag=a%20clock",
    "videos-page-zero": "/api/videos/?page=0",
    "videos-page-nul": "/api/videos/?page=%00",
}


@pytest.mark.parametrize("url", NOT_FOUND.values(), ids=NOT_FOUND.keys())
def test_a_missing_or_malformed_address_is_a_404_in_json(url):
    response = APIClient().get(url)
    assert response.status_code == 404
    assert response.json()["detail"]


def test_minutes_takes_no_parameters_and_ignores_malformed_ones():
    response = APIClient().get("/api/minutes/?minute=%00&page=-1&counts[]=1&" + "x" * 2000 + "=1")
    assert response.status_code == 200
    assert len(response.json()["counts"]) == 1440


@pytest.fixture
def curator() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("curator", is_staff=True))
    return client


INGEST_BODIES = {
    "not-json": ("sources=https://example.org/clock.mp4", "detail"),
    "json-nan": ('{"sources": ["ytsearch:clock"], "search": NaN}', "detail"),
    "a-list-not-an-object": ('["ytsearch:clock"]', "non_field_errors"),
    "empty-object": ("{}", "sources"),
    "empty-list-of-sources": ('{"sources": []}', "sources"),
    "one-source-not-a-list": ('{"sources": "ytsearch:clock"}', "sources"),
    "numbers-as-sources": ('{"sources": [1, 2]}', "sources"),
    "null-source": ('{"sources": [null]}', "sources"),
    "list-in-a-list": ('{"sources": [["ytsearch:clock"]]}', "sources"),
    "object-as-a-source": ('{"sources": [{"url": "https://example.org/"}]}', "sources"),
    "blank-source": ('{"sources": ["   "]}', "sources"),
    "nul-in-a-source": ('{"sources": ["ytsearch:clo\\u0000ck"]}', "sources"),
    "a-thousand-sources": (json.dumps({"sources": [f"ytsearch1:clock {n}" for n in range(1000)]}), "sources"),
    "search-count-zero": ('{"sources": ["ytsearch:clock"], "search": 0}', "search"),
    "search-count-overflowing": ('{"sources": ["ytsearch:clock"], "search": 1e400}', "search"),
    "max-items-in-words": ('{"sources": ["ytsearch:clock"], "max_items": "many"}', "max_items"),
    "max-items-huge": ('{"sources": ["ytsearch:clock"], "max_items": ' + HUGE + "}", "max_items"),
}


@pytest.mark.parametrize(("body", "field"), INGEST_BODIES.values(), ids=INGEST_BODIES.keys())
def test_a_malformed_ingest_request_is_a_400_and_records_nothing(curator, ingest_settings, body, field):
    response = curator.generic("POST", "/api/ingest/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()[field]
    assert not Source.objects.exists()
    assert not OrmQ.objects.exists()


REVIEW_BODIES = {
    "hour-out-of-range": ('{"time": "25:99"}', "time"),
    "time-in-words": ('{"time": "ten to"}', "time"),
    "time-as-a-list": ('{"time": ["10:42"]}', "time"),
    "time-as-an-object": ('{"time": {"hour": 10}}', "time"),
    "time-huge": ('{"time": "' + "9" * 5000 + ':00"}', "time"),
    "time-nul": ('{"time": "10:42\\u0000"}', "time"),
    "time-and-no-clock-at-once": ('{"time": "10:42", "not_a_clock": true}', "time"),
    "no-clock-not-a-boolean": ('{"not_a_clock": "perhaps"}', "not_a_clock"),
    "not-json": ("time=10:42", "detail"),
}


@pytest.mark.parametrize(("body", "field"), REVIEW_BODIES.values(), ids=REVIEW_BODIES.keys())
def test_a_malformed_review_is_a_400_and_changes_nothing(curator, body, field):
    sighting = ClockSighting.objects.create(video=make_video(), start_seconds=1.0, end_seconds=9.0, kind="analog",
                                            boxes=[[1.0, 10.0, 10.0, 50.0, 50.0, 0.9]], confidence=0.9)  # fmt: skip

    response = curator.generic("POST", f"/api/sightings/{sighting.pk}/review/", body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json()[field]
    assert not TimeReading.objects.exists()
    assert ClockSighting.objects.get(pk=sighting.pk).reviewed_at is None


def test_a_review_of_a_sighting_id_too_large_for_the_database_is_a_404(curator):
    response = curator.post(f"/api/sightings/{HUGE}/review/", {"time": "10:42"}, format="json")
    assert response.status_code == 404
    assert not TimeReading.objects.exists()
