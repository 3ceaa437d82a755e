"""The browse pages: the coverage figures of /minutes/ and /api/minutes/, and one minute's clips."""

from __future__ import annotations

import pytest
from django.test import Client

from catalog.models import Snippet
from pipeline.clock_time import Meridiem
from tests.support import make_snippet, make_video

pytestmark = pytest.mark.django_db


def test_a_fresh_catalog_says_what_to_do_next():
    html = Client().get("/minutes/").content.decode()
    assert "No clips yet" in html and "ingest" in html
    assert Client().get("/api/minutes/").json()["longest_gap"] == {"start": "00:00", "minutes": 1440}


def test_the_coverage_figures_count_both_halves_for_an_unknown_am_pm():
    make_snippet(10 * 60, meridiem=Meridiem.AM)
    make_snippet(10 * 60, meridiem=Meridiem.AM)
    make_snippet(3 * 60 + 30, meridiem=Meridiem.UNKNOWN)  # plays at 03:30 and 15:30
    make_snippet(20 * 60, status=Snippet.Status.HIDDEN)

    body = Client().get("/api/minutes/").json()

    assert body["covered_minutes"] == 3
    assert body["most_served"] == [{"minute": "10:00", "count": 2}, {"minute": "03:30", "count": 1},
                                   {"minute": "15:30", "count": 1}]  # fmt: skip
    # 15:31 through midnight to 03:29 is the longest stretch without a clip.
    assert body["longest_gap"] == {"start": "15:31", "minutes": 1440 - 15 * 60 - 31 + 3 * 60 + 30}
    html = Client().get("/minutes/").content.decode()
    assert '<span class="covered">3</span>' in html and "15:31" in html and "03:29" in html


def test_a_minute_lists_its_clips_surest_first_with_neighbours():
    video = make_video(title='<img src=x onerror="alert(1)">Station', uploader="<b>bold</b>")
    unsure = make_snippet(10 * 60 + 42, confidence=0.5, video=video)
    sure = make_snippet(10 * 60 + 42, confidence=0.95)
    make_snippet(10 * 60 + 44)

    html = Client().get("/minutes/10:42/").content.decode()

    assert html.index(f"/videos/{sure.video_id}/") < html.index(f"/videos/{unsure.video_id}/")
    assert "2 clips can play at 10:42" in html and "95% sure" in html
    assert '<img src=x onerror="alert(1)">' not in html and "&lt;img src=x" in html
    assert "<b>bold</b>" not in html
    assert 'href="/minutes/10:44/"' in html and 'href="/minutes/10:41/" rel="prev"' in html


def test_an_empty_minute_says_what_the_clock_plays_instead():
    make_snippet(9 * 60)
    html = Client().get("/minutes/09:30/").content.decode()
    assert "No clip shows 09:30 yet" in html and 'href="/minutes/09:00/"' in html


def test_the_go_to_a_minute_form_works_without_scripts():
    assert Client().get("/minutes/?minute=10:42")["Location"] == "/minutes/10:42/"
    assert Client().get("/minutes/?minute=99:99").status_code == 200, "a bad minute shows the day again"


def test_minute_addresses_are_checked_and_made_canonical():
    assert Client().get("/minutes/9:05/")["Location"] == "/minutes/09:05/"
    missing = Client().get("/minutes/25:00/")
    assert missing.status_code == 404 and "hours run 00-23" in missing.content.decode()
    assert Client().get("/minutes/<script>/").status_code == 404
