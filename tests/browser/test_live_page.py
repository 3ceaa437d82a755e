"""The live page in Chromium: it plays across minute boundaries without stalling, always showing a
clip whose clock reads the current minute."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings

from tests.support import make_playable_snippet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _sample(page) -> dict:
    return page.evaluate(
        """() => {
        const s = window.clockweb;
        const wall = Date.now() + s.serverOffsetMs + s.previewShiftMs;
        const player = document.querySelector('video.player.on-screen');
        const entry = s.showing;
        const snippet = entry && entry.piece.snippet;
        return {
          wall,
          minute: entry ? entry.minute.minute : null,
          reading: snippet && snippet.reading ? [snippet.reading.hour, snippet.reading.minute] : null,
          // During a switch the clip going off may have ended while the one coming on already plays.
          playing: [...document.querySelectorAll('video.player')].some((p) => !p.paused && p.readyState >= 2),
          // What each player was doing, for the failure message: a drift seek, a stall, a pause.
          players: [...document.querySelectorAll('video.player')].map((p) =>
            `${p.classList.contains('on-screen') ? 'on' : 'off'} paused=${p.paused} ready=${p.readyState} ` +
            `seeking=${p.seeking} t=${p.currentTime.toFixed(2)} rate=${p.playbackRate}`),
          position: player ? player.currentTime : null,
          switches: s.stats.switches.length,
          errors: s.stats.errors,
        };
    }"""
    )


def test_the_live_page_plays_across_two_minute_boundaries(site, browser, tmp_path):
    now = datetime.now(UTC)
    first = now.hour * 60 + now.minute
    for step in range(4):
        make_playable_snippet((first + step) % 1440, tmp_path)

    page = browser.new_page()
    page.goto(f"{site}/?tz=UTC")
    started = "() => window.clockweb && window.clockweb.showing && window.clockweb.stats.switches.length > 0"
    page.wait_for_function(started, timeout=20_000)
    start_minute = int(_sample(page)["wall"] // 60_000)
    samples = []
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        sample = _sample(page)
        samples.append(sample)
        if sample["wall"] // 60_000 >= start_minute + 2 and sample["wall"] % 60_000 > 3_000:
            break
        time.sleep(0.25)
    else:
        pytest.fail("the page did not reach two minute boundaries")

    # Every switch the schedule planned: at the minute boundaries, and within each minute where the
    # 12-second clip starts over.
    planned = [switch["planned"] for switch in page.evaluate("() => window.clockweb.stats.switches")]
    events = page.evaluate("() => window.clockweb.stats.events")
    for sample in samples:
        wall = datetime.fromtimestamp(sample["wall"] / 1000, UTC)
        if any(-300 < sample["wall"] - at < 300 for at in planned):
            continue  # the switch itself; its stall is measured below
        assert sample["minute"] == f"{wall.hour:02d}:{wall.minute:02d}", sample
        hour, minute = sample["reading"]
        assert (hour % 12, minute) == (wall.hour % 12, wall.minute), f"the clip's clock must read {wall:%H:%M}"
        # What the players did in the 3 s before, to tell a drift seek from a stall or an early end.
        before = [event for event in events if 0 <= sample["wall"] - event["wall"] < 3000]
        assert sample["playing"], (sample, before)
    positions = [sample["position"] for sample in samples]
    assert max(positions) - min(positions) > 1.0, "the video moves"

    page.screenshot(path=str(Path(settings.VAR_DIR) / "screenshots" / "live-page.png"))
    switches = page.evaluate("() => window.clockweb.stats.switches")
    boundaries = [
        switch for switch in switches if switch["planned"] % 60_000 == 0 and switch["planned"] > samples[0]["wall"]
    ]
    assert len(boundaries) >= 2, switches
    assert all(switch["stallMs"] <= 200 for switch in switches if not switch["joining"]), switches
    assert not _sample(page)["errors"]
