"""Review in Chromium: a curator logs in, corrects one clock by typing, dismisses the next with
the keyboard, and the catalog and schedule follow at once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from catalog import selectors
from catalog.models import Snippet, TimeReading
from pipeline.synth.clock_video import Shot, render_clock_video
from pipeline.synth.clocks import DrawnTime
from tests.catalog.test_review import _reading, _sighting, _snippet
from tests.catalog.test_scan_service import _video_with

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_curator_corrects_and_dismisses_clocks_with_the_keyboard(site, browser, tmp_path):
    User.objects.create_user("curator", password="a long pass phrase", is_staff=True)
    film = _video_with(render_clock_video(tmp_path / "film.mp4", [Shot(12, DrawnTime(10, 42, 10), "analog", seed=3)]))
    wrong = _reading(_sighting(film), 10, 40, confidence=0.3, status=TimeReading.Status.ACCEPTED, shown_at=-25.0)
    clip = _snippet(wrong, 22 * 60 + 40)
    no_clock = _reading(_sighting(film, start=2.0), 4, 0, confidence=0.35)
    page = browser.new_page(viewport={"width": 1100, "height": 900})

    page.goto(f"{site}/review/")
    page.wait_for_url(f"{site}/accounts/login/?next=/review/")
    page.get_by_label("User name").fill("curator")
    page.get_by_label("Password").fill("a long pass phrase")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site}/review/")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.review-item img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.screenshot(path=str(Path(settings.VAR_DIR) / "screenshots" / "review-page.png"), full_page=True)

    # The least sure clock comes first and has the focus: type its time and press Enter.
    first = page.locator(f'.review-item[data-sighting="{wrong.sighting_id}"]')
    assert page.evaluate("() => document.activeElement.closest('.review-item').dataset.sighting") == str(
        wrong.sighting_id
    )
    outcome = f"() => document.querySelector('#outcome-{wrong.sighting_id}').textContent"
    # A typo is shown, not swallowed, and changes nothing.
    page.keyboard.type("25:99")
    page.keyboard.press("Enter")
    # Functions, not expressions: Playwright runs an expression through eval(), which the page's CSP forbids.
    page.wait_for_function(f"() => ({outcome})().startsWith('Not saved')")
    assert "is not a time of day" in first.locator(".outcome").inner_text()
    wrong.refresh_from_db()
    assert not wrong.is_verified and (wrong.hour, wrong.minute) == (10, 40)
    page.keyboard.press("Control+a")
    page.keyboard.type("10:42")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => ({outcome})().startsWith('Saved')")
    assert first.locator(".outcome").inner_text() == "Saved: 10:42 PM, plays at 22:42."
    assert selectors.minute_plan(minute_of_day=22 * 60 + 42, day=date.today().toordinal()).snippet.pk == clip.pk

    # The focus moved on to the next clock: Alt+N says it is no clock.
    assert page.evaluate("() => document.activeElement.closest('.review-item').dataset.sighting") == str(
        no_clock.sighting_id
    )
    page.keyboard.press("Alt+n")
    page.wait_for_function(
        f"() => document.querySelector('#outcome-{no_clock.sighting_id}').textContent.startsWith('Saved')"
    )
    assert page.locator(".remaining").inner_text() == "0"

    wrong.refresh_from_db()
    no_clock.refresh_from_db()
    assert (wrong.hour, wrong.minute, wrong.meridiem, wrong.is_verified) == (10, 42, "pm", True)
    assert no_clock.status == TimeReading.Status.REJECTED
    assert Snippet.objects.get(pk=clip.pk).minute_of_day == 22 * 60 + 42

    # The queue is empty now; what was reviewed downloads as a labelled set.
    page.goto(f"{site}/review/")
    assert "Nothing to review" in page.locator(".empty-state").inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the 1 reviewed reading").click()
    assert download.value.suggested_filename.endswith(".zip")
