from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from tests.ingest.server import MediaServer, rss_feed
from tests.media import make_audio_only, make_clip


@pytest.fixture(scope="session")
def media_library(tmp_path_factory) -> Path:
    """Files made once per test session with the real ffmpeg, and a few broken ones."""
    root = tmp_path_factory.mktemp("media-library")
    make_clip(root / "clip.mp4", seconds=3)
    make_clip(root / "other.mp4", seconds=2, pattern="smptebars")
    make_clip(root / "long.mp4", seconds=12, size="640x480")
    make_audio_only(root / "audio.mp4")
    # Seeded noise: fresh noise now and then opens as some container (once as h263), which tells
    # a different, equally right error and made the tests that name the error flaky.
    (root / "corrupt.mp4").write_bytes(random.Random(0).randbytes(200_000))
    (root / "empty.mp4").write_bytes(b"")
    (root / "page.html").write_text("<html><body>No video here.</body></html>")
    return root


@pytest.fixture
def media_server(media_library: Path, tmp_path: Path):
    root = tmp_path / "site"
    shutil.copytree(media_library, root)
    server = MediaServer(root)
    # Broken files are served as video, the way a hostile or broken site would.
    for name in ("audio.mp4", "corrupt.mp4", "empty.mp4"):
        server.content_types[name] = "video/mp4"
    (root / "feed.xml").write_text(rss_feed(server, ["clip.mp4", "other.mp4", "long.mp4"]))
    yield server
    server.close()


@pytest.fixture
def ingest_settings(settings, tmp_path: Path):
    settings.INGEST_ALLOW_LOOPBACK = True
    settings.INGEST_SLEEP_REQUESTS = 0
    settings.INGEST_SLEEP_DOWNLOADS = 0
    settings.INGEST_RETRIES = 0
    settings.INGEST_ARCHIVE = tmp_path / "archive.txt"
    settings.INGEST_WORK_DIR = tmp_path / "work"
    return settings
