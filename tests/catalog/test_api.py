import pytest
from rest_framework.test import APIClient

from catalog.models import Snippet, Video
from pipeline.clock_time import Meridiem
from tests.support import make_snippet, make_video

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_it_lists_videos_with_their_snippet_counts(api):
    video = make_video(title="Safety Last!")
    make_snippet(600, video=video)
    make_snippet(601, video=video)
    make_video(title="Failed one", status=Video.Status.FAILED, error="not a video")

    body = api.get("/api/videos/").json()

    assert body["count"] == 2
    by_title = {v["title"]: v for v in body["results"]}
    assert by_title["Safety Last!"]["snippet_count"] == 2
    assert by_title["Failed one"]["error"] == "not a video"


def test_it_filters_videos_by_status(api):
    make_video(status=Video.Status.FAILED)
    make_video(status=Video.Status.SCANNED)
    body = api.get("/api/videos/?status=failed").json()
    assert [v["status"] for v in body["results"]] == ["failed"]


def test_a_video_names_its_source_or_none(api):
    from catalog.models import Source

    make_video(title="Orphan")
    source = Source.objects.create(kind=Source.Kind.SEARCH, locator="ytsearch3:clock")
    make_video(title="Found", source=source)
    by_title = {v["title"]: v["source"] for v in api.get("/api/videos/").json()["results"]}
    assert by_title == {"Orphan": None, "Found": "Search query: ytsearch3:clock"}


def test_it_shows_one_video(api):
    video = make_video(title="High Noon")
    assert api.get(f"/api/videos/{video.pk}/").json()["title"] == "High Noon"
    assert api.get("/api/videos/999999/").status_code == 404


def test_it_lists_the_snippets_of_one_minute(api):
    wanted = make_snippet(10 * 60 + 42)
    make_snippet(10 * 60 + 43)
    make_snippet(10 * 60 + 42, status=Snippet.Status.HIDDEN)

    body = api.get("/api/snippets/?minute=10:42").json()

    assert [s["id"] for s in body["results"]] == [wanted.pk]
    result = body["results"][0]
    assert result["minute"] == "10:42"
    assert result["reading"]["time"] == "10:42 AM"
    assert result["video"]["title"] == wanted.video.title
    assert result["shown_at_offset"] == pytest.approx(4.5)


def test_a_snippet_without_am_pm_is_listed_at_both_of_its_minutes(api):
    unknown = make_snippet(3 * 60 + 15, meridiem=Meridiem.UNKNOWN)
    afternoon = make_snippet(15 * 60 + 15)

    morning_ids = [s["id"] for s in api.get("/api/snippets/?minute=03:15").json()["results"]]
    afternoon_ids = {s["id"] for s in api.get("/api/snippets/?minute=15:15").json()["results"]}

    assert morning_ids == [unknown.pk]
    assert afternoon_ids == {unknown.pk, afternoon.pk}


def test_snippets_are_ordered_by_confidence(api):
    low = make_snippet(700, confidence=0.5)
    high = make_snippet(700, confidence=0.99)
    ids = [s["id"] for s in api.get("/api/snippets/?minute=11:40").json()["results"]]
    assert ids == [high.pk, low.pk]


def test_it_counts_every_minute_of_the_day(api):
    make_snippet(0)
    make_snippet(0)
    make_snippet(3 * 60, meridiem=Meridiem.UNKNOWN)
    make_snippet(1439)
    make_snippet(5, status=Snippet.Status.FAILED)

    body = api.get("/api/minutes/").json()

    assert len(body["counts"]) == 1440
    assert body["counts"][0] == 2
    assert body["counts"][180] == 1
    assert body["counts"][900] == 1
    assert body["counts"][1439] == 1
    assert body["counts"][5] == 0
    assert body["covered_minutes"] == 4
    assert body["total_snippets"] == 4


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/snippets/?minute=24:00", "minute"),
        ("/api/snippets/?minute=10:60", "minute"),
        ("/api/snippets/?minute=noon", "minute"),
        ("/api/snippets/?minute=" + "9" * 5000, "minute"),
        ("/api/snippets/?video=abc", "video"),
        ("/api/snippets/?video=-1", "video"),
        ("/api/snippets/?video=99999999999999999999999", "video"),
        ("/api/videos/?status=exploded", "status"),
        ("/api/now?tz=Mars/Olympus_Mons", "tz"),
        ("/api/now?tz=../../etc/passwd", "tz"),
        ("/api/now?tz=" + "A" * 5000, "tz"),
        ("/api/now?at=yesterday", "at"),
        ("/api/now?at=2026-13-45T99:00", "at"),
        ("/api/now?upcoming=1000", "upcoming"),
        ("/api/now?at=9999-12-31T23:59:00Z", "at"),
        ("/api/now?at=0001-01-01T00:00&tz=Asia/Tokyo", "at"),
        ("/api/now?upcoming=x", "upcoming"),
    ],
)
def test_bad_parameters_get_a_400_that_names_them(api, url, field):
    response = api.get(url)
    assert response.status_code == 400
    assert field in response.json()
    assert response.json()[field][0]


def test_an_unknown_page_is_a_404_not_a_500(api):
    assert api.get("/api/videos/?page=999").status_code == 404
    assert api.get("/api/videos/?page=abc").status_code == 404


def test_the_read_api_refuses_writes_from_anonymous_users(api):
    assert api.post("/api/videos/", {"title": "x"}).status_code in {401, 403}


def test_the_openapi_schema_and_its_docs_page_are_served(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {"/api/now", "/api/minutes/", "/api/snippets/", "/api/videos/"} <= set(schema["paths"])
    parameters = {p["name"] for p in schema["paths"]["/api/now"]["get"]["parameters"]}
    assert {"tz", "at"} <= parameters

    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn" not in docs.content.lower()


def test_the_live_page_explains_an_empty_catalog(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"No clips yet" in response.content and b"manage.py ingest" in response.content


def test_the_health_check_reports_the_database_the_broker_and_the_queues(client, settings):
    from catalog.models import WorkerHeartbeat

    WorkerHeartbeat.objects.all().delete()  # left by worker processes of earlier tests
    body = client.get("/healthz").json()
    assert body["ok"] and body["database"] == {"ok": True} and body["broker"] == {"ok": True, "kind": "database"}
    assert body["queues"] == {settings.Q_CPU_QUEUE: {"workers": 0, "hosts": []},
                              settings.Q_GPU_QUEUE: {"workers": 0, "hosts": []}}  # fmt: skip
