"""Browse by minute in Chromium: the heatmap, a cell, the minute's clips, playing one."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from tests.support import make_playable_snippet, make_video

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_heatmap_leads_to_a_minute_whose_clip_plays(site, browser, tmp_path):
    snippet = make_playable_snippet(10 * 60 + 42, tmp_path, seconds=4.0)
    snippet.video.title = "<script>window.hacked = true</script>Station at dawn"
    snippet.video.save()
    make_video(title="Another film")
    shots = Path(settings.VAR_DIR) / "screenshots"
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    dialogs = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    page.goto(f"{site}/minutes/")
    cell = page.locator('a[data-minute="10:42"] rect')
    cell.hover()
    assert page.locator(".heatmap-hover").inner_text() == "10:42: 1 clip"
    assert page.locator('a[data-minute="10:43"]').get_attribute("data-count") == "0"
    assert page.locator(".longest-gap").inner_text().startswith("1439 min")
    page.screenshot(path=str(shots / "minutes-page.png"), full_page=True)

    cell.click()
    page.wait_for_url(f"{site}/minutes/10:42/")
    assert page.get_by_role("heading", name="10:42").is_visible()
    title = page.locator(".clip h2").inner_text()
    assert title == "<script>window.hacked = true</script>Station at dawn", "a hostile title is shown as text"
    assert page.evaluate("() => window.hacked") is None
    page.locator(".clip video").evaluate("video => { video.muted = true; return video.play(); }")
    page.wait_for_function("() => document.querySelector('.clip video').currentTime > 0.3")
    page.screenshot(path=str(shots / "minute-page.png"), full_page=True)

    page.get_by_role("link", name="10:43 →").click()
    page.wait_for_url(f"{site}/minutes/10:43/")
    assert "No clip shows 10:43 yet" in page.locator(".empty-state").inner_text()
    page.get_by_role("link", name="10:42", exact=True).click()  # back through the borrowed minute
    page.wait_for_url(f"{site}/minutes/10:42/")

    page.goto(f"{site}/minutes/")
    page.get_by_label("Go to a minute").fill("10:42")
    page.get_by_role("button", name="Show clips").click()
    page.wait_for_url(f"{site}/minutes/10:42/")
    assert dialogs == []
