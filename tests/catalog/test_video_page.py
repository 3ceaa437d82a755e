"""The video page through the test client: metadata, the timeline's embedded data, empty states, hostile text."""

from __future__ import annotations

import datetime
import html
import json
import re

import pytest

from catalog.models import ClockSighting, Concept, FrameTag, SceneEmbedding, Snippet, TimeReading, Video
from tests.support import make_snippet, make_video

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _timeline(response) -> dict:
    """The JSON the page embeds for static/js/video.js."""
    match = re.search(r'<script id="video-timeline" type="application/json">(.*?)</script>', response.text, re.S)
    assert match, "the page embeds the timeline data"
    return json.loads(match.group(1))


def _tag(video: Video, name: str, seconds: list[float]) -> None:
    """Tag the frames of `video` at these seconds with the concept `name` (embedding them if need be)."""
    concept, _ = Concept.objects.get_or_create(name=name)
    for second in seconds:
        scene, _ = SceneEmbedding.objects.get_or_create(video=video, second=second, model_name="test",
                                                        defaults={"embedding": [1.0] + [0.0] * 511})  # fmt: skip
        FrameTag.objects.create(scene=scene, concept=concept, score=0.8)


def test_it_shows_the_videos_metadata_and_links(client):
    video = make_video(title="Station clock at dusk", uploader="Ada", channel="Trains daily", duration_seconds=95.0,
                       upload_date=datetime.date(2023, 4, 5), licence="CC BY 4.0", url="https://example.org/dusk",
                       file="videos/dusk.mp4")  # fmt: skip

    response = client.get(f"/videos/{video.pk}/")

    assert response.status_code == 200
    page = response.text
    assert '<a href="https://example.org/dusk" rel="noopener noreferrer external">Station clock at dusk</a>' in page
    for text in ["by Ada", "channel Trains daily", "1:35", "5 April 2023", "CC BY 4.0", "Processed"]:
        assert text in page
    assert f'href="/api/videos/{video.pk}/"' in page
    assert '<video controls playsinline preload="metadata" src="/media/videos/dusk.mp4"' in page
    assert 'src="/static/js/video.js"' in page and 'href="/static/css/video.css"' in page


def test_it_embeds_shots_sightings_readings_snippets_and_tags_for_the_timeline(client):
    video = make_video(duration_seconds=120.0, shot_boundaries=[12.5, 40.0, 90.0])
    snippet = make_snippet(22 * 60 + 42, video=video, start=30.0, shown_at=34.5, confidence=0.87)
    other = ClockSighting.objects.create(video=video, start_seconds=60.0, end_seconds=70.0, kind="digital",
                                         confidence=0.7, rejection="frames disagree")  # fmt: skip
    TimeReading.objects.create(sighting=other, hour=7, minute=5, meridiem="unknown", confidence=0.4,
                               method=TimeReading.Method.DIGITAL, status=TimeReading.Status.UNCERTAIN,
                               shown_at_seconds=61.0)  # fmt: skip
    make_snippet(9 * 60, video=video, start=80.0, shown_at=84.0, status=Snippet.Status.HIDDEN)
    _tag(video, "a train station", [0.0, 10.0, 20.0])
    _tag(video, "night", [20.0])
    SceneEmbedding.objects.create(video=video, second=30.0, model_name="test", embedding=[0.0, 1.0] + [0.0] * 510)

    data = _timeline(client.get(f"/videos/{video.pk}/"))

    assert data["duration"] == 120.0
    assert data["shots"] == [12.5, 40.0, 90.0]
    assert [(s["start"], s["end"], s["kind"]) for s in data["sightings"]] == [
        (30.0, 40.0, "analog"), (60.0, 70.0, "digital"), (80.0, 90.0, "analog")]  # fmt: skip
    assert data["sightings"][1]["rejection"] == "frames disagree"
    readings = [(r["label"], r["at"], r["status"], r["confidence"]) for r in data["readings"]]
    assert readings == [("10:42 pm", 34.5, "accepted", 0.87), ("7:05", 61.0, "uncertain", 0.4),
                        ("9:00 am", 84.0, "accepted", 0.9)]  # fmt: skip
    assert data["readings"][1]["method"] == "Digital recognizer"
    # The hidden snippet is not shown; its reading is.
    assert [(s["id"], s["minute"], s["start"], s["end"]) for s in data["snippets"]] == [
        (snippet.pk, "22:42", 30.0, 40.0)]  # fmt: skip
    assert [(t["name"], t["share"]) for t in data["tags"]] == [("a train station", 0.75), ("night", 0.25)]
    # Frames every EMBED_EVERY_SECONDS (10 s) stand for 5 s either side.
    assert data["tags"][0]["segments"] == [[0.0, 25.0]]
    assert data["tags"][1]["segments"] == [[15.0, 25.0]]


def test_it_lists_readings_snippets_and_tags_with_play_buttons(client):
    video = make_video(duration_seconds=60.0, file="videos/a.mp4")
    make_snippet(22 * 60 + 42, video=video, start=30.0, shown_at=34.5, confidence=0.87)
    _tag(video, "a train station", [10.0])

    page = client.get(f"/videos/{video.pk}/").text

    assert '<td class="clock">10:42 pm</td>' in page and "87%" in page and "Analog reader model" in page
    assert 'data-seek="34.500000">Play from 0:34</button>' in page
    assert '<a class="clock" href="/minutes/22:42/">22:42</a>' in page
    assert 'data-seek="30.000000">Play from 0:30</button>' in page
    assert '<span class="tag-name">a train station</span>' in page and "100% of frames" in page


@pytest.mark.parametrize(
    ("fields", "scanned", "expected"),
    [
        ({"status": Video.Status.DOWNLOADED}, False, "Not scanned for clocks yet"),
        ({"status": Video.Status.SCANNED}, True, "Scanned: no clock was found in this video."),
        ({"status": Video.Status.DOWNLOADED, "info": {"scan": {"sightings": 0}}}, True, "Scanned: no clock was found"),
    ],
)
def test_it_tells_not_scanned_from_scanned_without_clocks(client, fields, scanned, expected):
    video = make_video(file="videos/a.mp4", **fields)

    response = client.get(f"/videos/{video.pk}/")

    page = response.text
    assert expected in page
    assert _timeline(response)["scanned"] is scanned
    assert "No tags yet" in page and "No snippets cut from this video" in page


def test_it_explains_why_there_is_no_player(client):
    pending = make_video(status=Video.Status.PENDING)
    failed = make_video(status=Video.Status.FAILED, error="HTTP Error 403: Forbidden")

    pending_page = client.get(f"/videos/{pending.pk}/").text
    failed_page = client.get(f"/videos/{failed.pk}/").text

    assert "Not downloaded yet" in pending_page and "<video" not in pending_page
    assert "Not scanned for clocks yet (it has to be downloaded first)" in pending_page
    assert "No video to play" in failed_page and "<video" not in failed_page
    assert '<p class="error video-error">HTTP Error 403: Forbidden</p>' in failed_page


def test_it_is_404_for_an_unknown_video(client):
    assert client.get("/videos/987654321/").status_code == 404


def test_it_renders_hostile_text_inert(client):
    video = make_video(title=HOSTILE, uploader=HOSTILE, channel=HOSTILE, licence=HOSTILE, url="javascript:alert(3)",
                       info={"description": HOSTILE})  # fmt: skip
    ClockSighting.objects.create(video=video, start_seconds=1.0, end_seconds=2.0, confidence=0.5,
                                 rejection=HOSTILE)  # fmt: skip
    _tag(video, HOSTILE, [1.0])

    response = client.get(f"/videos/{video.pk}/")

    page = response.text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "javascript:" not in page, "a non-web URL is not linked"
    assert html.escape(HOSTILE, quote=True) in page
    data = _timeline(response)
    assert data["sightings"][0]["rejection"] == HOSTILE == data["tags"][0]["name"]


def test_it_reads_the_page_in_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    video = make_video(duration_seconds=300.0)
    for index in range(8):
        make_snippet(index * 60, video=video, start=index * 30.0, shown_at=index * 30.0 + 2)
    for name in ["a train station", "night", "daytime", "a street", "a kitchen", "an office"]:
        _tag(video, name, [0.0, 10.0])

    with django_assert_max_num_queries(20):
        response = client.get(f"/videos/{video.pk}/")

    assert len(_timeline(response)["readings"]) == 8
    assert len(_timeline(response)["tags"]) == 5
