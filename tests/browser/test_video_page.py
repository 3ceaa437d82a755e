"""The video page in Chromium: the timeline is drawn, clicking it seeks the player, hostile text stays text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings

from catalog.models import ClockSighting, Concept, FrameTag, SceneEmbedding, TimeReading, Video
from tests.support import make_playable_snippet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
SECONDS = 8.0
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def _playable_video(tmp_path: Path, **fields: object) -> Video:
    """A video with a real file (the clip make_playable_snippet cuts, copied where downloads go),
    a snippet at 22:42, and a second reading, some shots and tags along it."""
    snippet = make_playable_snippet(22 * 60 + 42, tmp_path, seconds=SECONDS)
    snippet.refresh_from_db()
    name = "videos/clock.mp4"
    (Path(settings.MEDIA_ROOT) / "videos").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(settings.MEDIA_ROOT) / snippet.file.name, Path(settings.MEDIA_ROOT) / name)
    Video.objects.filter(pk=snippet.video_id).update(file=name, duration_seconds=SECONDS, shot_boundaries=[3.0, 5.5],
                                                     **fields)  # fmt: skip
    sighting = ClockSighting.objects.create(video_id=snippet.video_id, start_seconds=5.5, end_seconds=7.5,
                                            kind="digital", confidence=0.8)  # fmt: skip
    TimeReading.objects.create(sighting=sighting, hour=10, minute=43, meridiem="pm", confidence=0.55,
                               method=TimeReading.Method.DIGITAL, status=TimeReading.Status.UNCERTAIN,
                               shown_at_seconds=6.0)  # fmt: skip
    for tag, seconds in [("a train station", [0.0, 2.0, 4.0]), (HOSTILE, [6.0])]:
        concept, _ = Concept.objects.get_or_create(name=tag)
        for second in seconds:
            scene, _ = SceneEmbedding.objects.get_or_create(video_id=snippet.video_id, second=second, model_name="t",
                                                            defaults={"embedding": [1.0] + [0.0] * 511})  # fmt: skip
            FrameTag.objects.create(scene=scene, concept=concept, score=0.7)
    return Video.objects.get(pk=snippet.video_id)


def _current_time(page) -> float:
    return page.evaluate("() => document.querySelector('.video-player video').currentTime")


def test_clicking_the_timeline_seeks_the_player(site, browser, tmp_path):
    video = _playable_video(tmp_path)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{site}/videos/{video.pk}/")
    page.wait_for_function("() => document.querySelector('.video-player video').readyState >= 1")

    timeline = page.get_by_role("group", name="Timeline of the video")
    assert timeline.is_visible()
    assert timeline.locator(".sighting").count() == 2
    assert timeline.locator(".reading").count() == 2
    assert timeline.locator("[data-row='tag']").count() == 2
    assert timeline.locator("a.snippet").first.get_attribute("href") == "/minutes/22:42/"
    assert "10:42 pm" in timeline.locator(".reading-label").all_text_contents()

    # The shots row spans the plot: its middle is the middle of the video.
    box = timeline.locator("[data-row='shots'] .row-bg").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => !document.querySelector('.video-player video').paused")
    assert _current_time(page) == pytest.approx(SECONDS / 2, abs=0.8)
    # The playhead follows the player.
    playhead_x = float(timeline.locator(".playhead").get_attribute("x1"))
    assert box["x"] - 20 < playhead_x < box["x"] + box["width"]

    page.evaluate("() => document.querySelector('.video-player video').pause()")
    page.get_by_role("button", name="Play from 0:06").click()
    page.wait_for_function("() => !document.querySelector('.video-player video').paused")
    assert _current_time(page) == pytest.approx(6.0, abs=0.8)

    # Keyboard: with the timeline focused, Home goes back to the start.
    page.evaluate("() => document.querySelector('.video-player video').pause()")
    timeline.focus()
    page.keyboard.press("Home")
    page.wait_for_function("() => document.querySelector('.video-player video').currentTime < 1")
    assert problems == []


def test_hostile_metadata_stays_text(site, browser, tmp_path):
    video = _playable_video(tmp_path, title=HOSTILE, uploader=HOSTILE, info={"description": HOSTILE})
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{site}/videos/{video.pk}/")
    page.wait_for_selector(".timeline-svg")
    page.locator(".video-description summary").click()

    assert page.locator("h1").inner_text() == HOSTILE
    assert page.locator(".video-description p").inner_text() == HOSTILE
    assert page.locator("img").count() == 0 and page.locator("main script:not([src]):not([type])").count() == 0
    assert HOSTILE in page.locator(".tag-list").inner_text()
    # In the plot, the tag's name is a label (shortened) with the whole name as its tooltip.
    assert HOSTILE in page.locator(".timeline-svg title").all_text_contents()
    page.wait_for_function("() => document.querySelector('.video-player video').readyState >= 1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "video-page.png"), full_page=True)
    assert dialogs == []


def test_the_page_fits_a_phone(site, browser, tmp_path):
    video = _playable_video(tmp_path)
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.goto(f"{site}/videos/{video.pk}/")
    page.wait_for_selector(".timeline-svg")

    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "video-page-phone.png"), full_page=True)


def test_a_video_not_downloaded_yet_says_so_and_draws_empty_rows(site, browser):
    video = Video.objects.create(extractor="generic", external_id="later", title="Coming soon", duration_seconds=600.0,
                                 status=Video.Status.PENDING)  # fmt: skip
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    page.goto(f"{site}/videos/{video.pk}/")
    page.wait_for_selector(".timeline-svg")

    assert page.locator("video").count() == 0
    assert "Not downloaded yet" in page.locator(".video-player").inner_text()
    assert page.locator(".timeline-svg .row-empty").all_text_contents() == [
        "not scanned yet", "not scanned yet", "none", "no tags yet", "none"]  # fmt: skip
    box = page.locator(".timeline-svg [data-row='shots'] .row-bg").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.locator(".player-status").inner_text() == "There is no video file to play yet."
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "video-page-empty.png"), full_page=True)
