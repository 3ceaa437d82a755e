"""The live HLS playlist: a sliding window of 6-second segments, dated, with a discontinuity at each minute."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from pipeline.schedule.hls import SEGMENT_SECONDS, WINDOW_SEGMENTS, live_playlist, live_window


def _playlist(now: datetime) -> list[str]:
    window = live_window(now)
    return live_playlist(
        window, {segment: f"{segment.unix_minute}/{segment.index}.ts" for segment in window}
    ).splitlines()


def test_the_window_ends_with_the_segment_playing_now():
    now = datetime(2026, 11, 21, 10, 42, 13, tzinfo=UTC)
    window = live_window(now)
    assert len(window) == WINDOW_SEGMENTS
    assert window[-1].starts_at <= now < window[-1].starts_at + timedelta(seconds=SEGMENT_SECONDS)
    assert [b.sequence - a.sequence for a, b in itertools.pairwise(window)] == [1] * (WINDOW_SEGMENTS - 1)


def test_each_segment_is_dated_and_a_new_minute_is_a_discontinuity():
    lines = _playlist(datetime(2026, 11, 21, 10, 42, 13, tzinfo=UTC))

    assert lines[0] == "#EXTM3U" and "#EXT-X-ENDLIST" not in lines, "a live playlist has no end"
    dates = [
        datetime.fromisoformat(line.split(":", 1)[1]) for line in lines if line.startswith("#EXT-X-PROGRAM-DATE-TIME")
    ]
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(dates)] == [SEGMENT_SECONDS] * (len(dates) - 1)
    assert dates[-1] == datetime(2026, 11, 21, 10, 42, 12, tzinfo=UTC)
    discontinuity = lines.index("#EXT-X-DISCONTINUITY")
    assert lines[discontinuity + 1] == "#EXT-X-PROGRAM-DATE-TIME:2026-11-21T10:42:00.000+00:00"
    assert lines.count("#EXT-X-DISCONTINUITY") == 1


def test_the_sequence_numbers_follow_the_window_as_it_slides():
    before = _playlist(datetime(2026, 11, 21, 10, 42, 58, tzinfo=UTC))
    after = _playlist(datetime(2026, 11, 21, 10, 43, 7, tzinfo=UTC))

    def header(lines: list[str], tag: str) -> int:
        return int(next(line for line in lines if line.startswith(tag)).split(":")[1])

    assert header(after, "#EXT-X-MEDIA-SEQUENCE") == header(before, "#EXT-X-MEDIA-SEQUENCE") + 2
    # The window slid past no minute start yet, then past one: the discontinuity count follows.
    later = _playlist(datetime(2026, 11, 21, 10, 43, 40, tzinfo=UTC))
    assert header(after, "#EXT-X-DISCONTINUITY-SEQUENCE") == header(before, "#EXT-X-DISCONTINUITY-SEQUENCE")
    assert header(later, "#EXT-X-DISCONTINUITY-SEQUENCE") == header(before, "#EXT-X-DISCONTINUITY-SEQUENCE") + 1
