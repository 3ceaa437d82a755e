"""POST /api/ingest/ and /api/videos/<id>/retry/: staff only, checked, queued for the workers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django_q.conf import Conf
from django_q.models import OrmQ
from rest_framework.test import APIClient

from catalog.models import Source, Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("curator", is_staff=True))
    return client


@pytest.fixture
def run_tasks_now(monkeypatch):
    """django-q2's synchronous mode: async_task runs the task in this process, through the real task code."""
    monkeypatch.setattr(Conf, "SYNC", True)


def test_anonymous_and_non_staff_users_cannot_ingest(ingest_settings):
    anonymous = APIClient().post("/api/ingest/", {"sources": ["ytsearch1:clock"]}, format="json")
    assert anonymous.status_code in {401, 403}
    viewer = APIClient()
    viewer.force_authenticate(User.objects.create_user("viewer"))
    assert viewer.post("/api/ingest/", {"sources": ["ytsearch1:clock"]}, format="json").status_code == 403
    assert not Source.objects.exists()


def test_staff_sources_are_recorded_and_queued(staff, media_server, ingest_settings):
    response = staff.post(
        "/api/ingest/", {"sources": [media_server.url("feed.xml"), "ytsearch3:station clock"]}, format="json"
    )

    assert response.status_code == 202, response.content
    kinds = [(s["kind"], s["locator"]) for s in response.json()["sources"]]
    assert kinds == [("url", media_server.url("feed.xml")), ("search", "ytsearch3:station clock")]
    assert OrmQ.objects.count() == 2
    assert Source.objects.get(kind="url").created_by.username == "curator"


def test_a_queued_source_is_discovered_and_downloaded_by_the_tasks(staff, media_server, ingest_settings, run_tasks_now):
    response = staff.post("/api/ingest/", {"sources": [media_server.url("feed.xml")], "max_items": 2}, format="json")
    assert response.status_code == 202

    videos = Video.objects.order_by("id")
    # Downloaded, and then handed on to the scan stage.
    assert all(v.sha256 and v.file for v in videos)
    assert {v.status for v in videos} <= {Video.Status.DOWNLOADED, Video.Status.SCANNED}
    source_id = response.json()["sources"][0]["id"]
    listed = staff.get(f"/api/videos/?source={source_id}").json()
    assert listed["count"] == 2
    assert all(v["progress"]["percent"] == 100.0 for v in listed["results"])


@pytest.mark.parametrize(
    ("locator", "reason"),
    [
        ("file:///etc/passwd", "only http and https URLs can be fetched, not file:"),
        ("data:text/html,hi", "not data:"),
        ("javascript:alert(1)", "not javascript:"),
        ("/etc/passwd", "local files and folders can only be ingested from the command line"),
        ("http://192.168.0.1/x.mp4", "192.168.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("http://[::1]:8000/x.mp4", None),  # loopback is allowed by ingest_settings, refused below
    ],
)
def test_refused_sources_get_a_400_naming_each_one(staff, ingest_settings, locator, reason):
    if reason is None:
        ingest_settings.INGEST_ALLOW_LOOPBACK = False
        reason = "::1 is a loopback address"
    response = staff.post("/api/ingest/", {"sources": [locator]}, format="json")
    assert response.status_code == 400
    assert reason in response.json()["sources"][locator]
    assert not Source.objects.exists()
    assert not OrmQ.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"sources": []}, {"sources": "http://x.org"}, {"sources": ["a"] * 101}, {"sources": ["x" * 5000]},
     {"sources": ["ytsearch:x"], "search": 0}, {"sources": ["ytsearch:x"], "max_items": "many"}],
)  # fmt: skip
def test_malformed_requests_get_a_400(staff, ingest_settings, body):
    assert staff.post("/api/ingest/", body, format="json").status_code == 400


def test_a_failed_video_can_be_retried_by_staff_only(staff, media_server, ingest_settings, run_tasks_now):
    video = Video.objects.create(
        extractor="generic", external_id="x", url=media_server.url("clip.mp4"), status=Video.Status.FAILED, error="boom"
    )
    assert APIClient().post(f"/api/videos/{video.pk}/retry/").status_code in {401, 403}

    response = staff.post(f"/api/videos/{video.pk}/retry/")

    assert response.status_code == 202
    video.refresh_from_db()
    assert video.sha256 and video.status in {Video.Status.DOWNLOADED, Video.Status.SCANNED}
    assert staff.post(f"/api/videos/{video.pk}/retry/").status_code == 409
    assert staff.post("/api/videos/999999/retry/").status_code == 404
