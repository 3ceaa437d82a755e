"""The curator's ingest page (/ingest/) and the source list it polls (/api/sources/)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from catalog.models import Source, Video
from tests.support import make_video

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def curator() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("curator", is_staff=True))
    return client


def _source(locator: str = "https://example.org/watch?v=1", **fields: object) -> Source:
    return Source.objects.create(kind=Source.Kind.URL, locator=locator, **fields)


def test_it_sends_anonymous_visitors_to_the_log_in_page():
    response = Client().get("/ingest/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/ingest/"


def test_it_sends_users_who_are_not_staff_to_the_log_in_page():
    client = Client()
    client.force_login(User.objects.create_user("viewer"))
    response = client.get("/ingest/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/ingest/")


def test_it_shows_curators_the_form_and_explains_an_empty_catalog(curator):
    response = curator.get("/ingest/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="ingest-sources">Sources, one per line</label>' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'role="alert"' in html
    assert "js/ingest.js" in html and "css/ingest.css" in html
    empty = html.split('class="empty-state ingest-empty"')[1].split("</section>")[0]
    assert "hidden" not in empty.split(">")[0]
    assert "ytsearch5:railway station clock" in empty and "make run" in empty


def test_it_lists_sources_and_jobs_with_their_state(curator):
    failed_source = _source("https://example.org/gone", error="HTTP Error 404: Not Found")
    source = _source(last_ingested_at="2024-01-01T00:00:00Z")
    make_video(source=source, title="Station clock", status=Video.Status.FAILED, error="connection reset")
    make_video(source=source, title="Platform 9", status=Video.Status.DOWNLOADING,
               progress={"status": "downloading", "percent": 42.5, "downloaded_bytes": 2048, "total_bytes": 4096,
                         "speed": 1024, "eta": 2})  # fmt: skip

    html = curator.get("/ingest/").content.decode()

    assert 'class="empty-state ingest-empty" aria-labelledby="empty-heading" hidden' in html
    assert f'data-source-id="{failed_source.pk}"' in html and "HTTP Error 404: Not Found" in html
    assert "2 videos: <span>1 downloading</span><span>1 failed</span>" in html
    assert '<progress max="100" value="42.5" aria-label="Download of Platform 9">' in html
    assert "2.0\xa0KB of 4.0\xa0KB · 1.0\xa0KB/s · 2 s left" in html
    assert "connection reset" in html
    retry_buttons = html.count('<button type="button" class="action retry">')
    assert retry_buttons == 1, "only the failed job offers a retry"


def test_it_renders_hostile_titles_locators_and_errors_as_text(curator):
    source = _source(f"ytsearch3:{HOSTILE}", error=HOSTILE)
    make_video(source=source, title=HOSTILE, status=Video.Status.FAILED, error=HOSTILE, url="javascript:alert(1)")

    html = curator.get("/ingest/").content.decode()

    assert HOSTILE not in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert 'aria-label="Download of &lt;script&gt;' in html
    assert 'href="javascript:' not in html, "only http(s) addresses become links"


def test_it_filters_jobs_by_status_and_ignores_unknown_ones(curator):
    make_video(title="Broken one", status=Video.Status.FAILED)
    make_video(title="Good one", status=Video.Status.SCANNED)

    failed = curator.get("/ingest/?status=failed").content.decode()
    anything = curator.get("/ingest/?status=<bogus>").content.decode()

    assert "Broken one" in failed and "Good one" not in failed
    assert '<option value="failed" selected>' in failed
    assert "Broken one" in anything and "Good one" in anything


def test_the_source_list_is_for_staff_only():
    _source()
    assert APIClient().get("/api/sources/").status_code in {401, 403}
    viewer = APIClient()
    viewer.force_authenticate(User.objects.create_user("viewer"))
    assert viewer.get("/api/sources/").status_code == 403


def test_the_source_list_counts_each_sources_videos_by_status():
    older = _source("https://example.org/a", error="HTTP Error 404")
    newer = _source("ytsearch2:clock", last_ingested_at="2024-01-01T00:00:00Z")
    Source.objects.filter(pk=newer.pk).update(kind=Source.Kind.SEARCH)
    for status in [Video.Status.SCANNED, Video.Status.SCANNED, Video.Status.FAILED]:
        make_video(source=newer, status=status)
    staff = APIClient()
    staff.force_authenticate(User.objects.create_user("curator", is_staff=True))

    answer = staff.get("/api/sources/").json()

    assert answer["count"] == 2
    first, second = answer["results"]
    assert (first["id"], second["id"]) == (newer.pk, older.pk), "newest first"
    assert first["kind_label"] == "Search query"
    assert first["videos"] == {"total": 3, "pending": 0, "downloading": 0, "downloaded": 0, "processing": 0,
                               "processed": 2, "failed": 1, "duplicate": 0}  # fmt: skip
    assert second["error"] == "HTTP Error 404" and second["videos"]["total"] == 0


def test_the_source_list_is_in_the_api_schema():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/sources/" in schema["paths"]
    assert "SourceProgress" in schema["components"]["schemas"]
