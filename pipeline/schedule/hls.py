"""The live HLS playlist of the clock: segments of SEGMENT_SECONDS, each minute rendered as
60 / SEGMENT_SECONDS of them, named by the minute (its start in Unix minutes) and their index.

Each minute is rendered on its own, so timestamps restart at every minute: the playlist puts
an EXT-X-DISCONTINUITY before each minute's first segment, and counts the discontinuities that
have left the window in EXT-X-DISCONTINUITY-SEQUENCE, as RFC 8216 asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

SEGMENT_SECONDS = 6
SEGMENTS_PER_MINUTE = 60 // SEGMENT_SECONDS
# Segments listed; players start about three from the end.
WINDOW_SEGMENTS = 6


@dataclass(frozen=True)
class Segment:
    unix_minute: int  # the minute's start, in minutes since 1970-01-01 UTC
    index: int  # 0 .. SEGMENTS_PER_MINUTE - 1

    @property
    def sequence(self) -> int:
        return self.unix_minute * SEGMENTS_PER_MINUTE + self.index

    @property
    def starts_at(self) -> datetime:
        return datetime.fromtimestamp(self.unix_minute * 60 + self.index * SEGMENT_SECONDS, UTC)


def live_window(now: datetime) -> list[Segment]:
    """The WINDOW_SEGMENTS segments up to and including the one playing at `now`."""
    current = int(now.timestamp()) // SEGMENT_SECONDS
    per_minute = SEGMENTS_PER_MINUTE
    return [Segment(n // per_minute, n % per_minute) for n in range(current - WINDOW_SEGMENTS + 1, current + 1)]


def live_playlist(segments: list[Segment], uri: dict[Segment, str]) -> str:
    """An HLS media playlist (live: no end tag) for consecutive segments."""
    first = segments[0]
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{SEGMENT_SECONDS}",
        f"#EXT-X-MEDIA-SEQUENCE:{first.sequence}",
        # A discontinuity starts every minute, so a segment's discontinuity number is its minute.
        f"#EXT-X-DISCONTINUITY-SEQUENCE:{first.unix_minute}",
    ]
    for position, segment in enumerate(segments):
        if segment.index == 0 and position > 0:
            lines.append("#EXT-X-DISCONTINUITY")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{segment.starts_at.isoformat(timespec='milliseconds')}")
        lines.append(f"#EXTINF:{SEGMENT_SECONDS:.3f},")
        lines.append(uri[segment])
    return "\n".join(lines) + "\n"
