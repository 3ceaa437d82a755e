"""/live.m3u8: the clock as a live HLS stream that ffmpeg reads cleanly for a minute."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pytest

from pipeline.ffmpeg import ffmpeg_binary
from tests.support import make_playable_snippet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_live_stream_reads_cleanly_for_sixty_seconds(site, tmp_path):
    now = datetime.now(UTC)
    for step in range(3):
        make_playable_snippet((now.hour * 60 + now.minute + step) % 1440, tmp_path, seconds=8.0)

    read = subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-v", "error", "-i", f"{site}/live.m3u8?tz=UTC", "-t", "60",
         "-map", "0:v:0", "-map", "0:a:0", "-f", "null", "-"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip

    assert read.returncode == 0, read.stderr
    assert read.stderr.strip() == "", f"ffmpeg reported problems:\n{read.stderr}"


def test_the_stream_is_h264_and_aac(site, tmp_path):
    now = datetime.now(UTC)
    make_playable_snippet(now.hour * 60 + now.minute, tmp_path, seconds=8.0)
    probe = subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-i", f"{site}/live.m3u8?tz=UTC", "-t", "1", "-f", "null", "-"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "Video: h264" in probe.stderr and "Audio: aac" in probe.stderr, probe.stderr


def test_a_bad_time_zone_is_refused(client):
    response = client.get("/live.m3u8", {"tz": "../../etc/passwd"})
    assert response.status_code == 400
    assert b"time zone" in response.content


def test_segments_far_from_now_are_not_rendered_on_request(client):
    response = client.get("/live/1/0.ts")
    assert response.status_code == 404
