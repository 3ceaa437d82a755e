"""The live page in Chromium: it plays across minute boundaries without stalling, always showing a
clip whose clock reads the current minute."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings

from catalog.models import Snippet
from pipeline.clock_time import Meridiem
from pipeline.clock_video import Shot, render_clock_video
from pipeline.ffmpeg import cut_clip
from pipeline.render import ClockTime
from tests.support import make_snippet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CLIP_SECONDS = 12.0


def _snippet_showing(minute_of_day: int, tmp_path: Path) -> Snippet:
    """A real clip of a clock that shows the minute, cut by the ffmpeg adapter, placed at that minute."""
    hour, minute = divmod(minute_of_day, 60)
    source = render_clock_video(tmp_path / f"source-{minute_of_day}.mp4",
                                [Shot(CLIP_SECONDS, ClockTime(hour, minute, 0), seed=minute_of_day)])  # fmt: skip
    name = f"snippets/live-{minute_of_day}.mp4"
    cut_clip(source, Path(settings.MEDIA_ROOT) / name, start=0, duration=CLIP_SECONDS, has_audio=True, gpu=False)
    # The clock shows HH:MM:00 at the clip's first frame.
    snippet = make_snippet(minute_of_day, meridiem=Meridiem.PM if hour >= 12 else Meridiem.AM, start=0.0, shown_at=0.0)
    Snippet.objects.filter(pk=snippet.pk).update(end_seconds=CLIP_SECONDS, file=name)
    return snippet


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
          playing: Boolean(player && !player.paused && player.readyState >= 2),
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
        _snippet_showing((first + step) % 1440, tmp_path)

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

    for sample in samples:
        wall = datetime.fromtimestamp(sample["wall"] / 1000, UTC)
        if (wall.second == 59 and wall.microsecond > 700_000) or (wall.second == 0 and wall.microsecond < 300_000):
            continue  # the switch itself; measured below
        assert sample["minute"] == f"{wall.hour:02d}:{wall.minute:02d}", sample
        hour, minute = sample["reading"]
        assert (hour % 12, minute) == (wall.hour % 12, wall.minute), f"the clip's clock must read {wall:%H:%M}"
        assert sample["playing"], sample
    positions = [sample["position"] for sample in samples]
    assert max(positions) - min(positions) > 1.0, "the video moves"

    page.screenshot(path=str(Path(settings.VAR_DIR) / "screenshots" / "live-page.png"))
    switches = page.evaluate("() => window.clockweb.stats.switches")
    boundaries = [
        switch for switch in switches if switch["planned"] % 60_000 == 0 and switch["planned"] > samples[0]["wall"]
    ]
    assert len(boundaries) >= 2, switches
    assert all(switch["stallMs"] <= 200 for switch in switches[1:]), switches
    assert not _sample(page)["errors"]
