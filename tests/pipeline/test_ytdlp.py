"""The yt-dlp adapter against a real HTTP server on loopback, through yt-dlp's generic extractor."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipeline.ingest import ytdlp


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _policy(tmp_path: Path, **changes) -> ytdlp.DownloadPolicy:
    defaults = {
        "allow_loopback": True,
        "sleep_between_requests_seconds": 0,
        "retries": 0,
        "archive_path": tmp_path / "archive.txt",
    }
    return ytdlp.DownloadPolicy(**{**defaults, **changes})


def test_it_downloads_a_whole_video_and_reports_progress(media_server, tmp_path):
    progress: list[ytdlp.Progress] = []

    result = ytdlp.download(
        media_server.url("clip.mp4"), work_dir=tmp_path / "work", policy=_policy(tmp_path), on_progress=progress.append
    )

    assert result.path == tmp_path / "work" / "media.mp4"
    assert _sha256(result.path) == _sha256(media_server.root / "clip.mp4")
    assert result.metadata.extractor == "generic"
    assert result.metadata.webpage_url == media_server.url("clip.mp4")
    assert result.metadata.title == "clip"
    assert progress[-1].status == "finished"
    assert progress[-1].percent == 100.0
    assert "formats" not in result.info and "http_headers" not in result.info


def test_a_download_cut_mid_file_resumes_on_the_next_attempt_to_the_same_bytes(media_server, tmp_path):
    url, work = media_server.url("long.mp4"), tmp_path / "work"
    # Request 1 is yt-dlp's look at the page; request 2 is the download, cut half-way.
    media_server.cuts["long.mp4"] = {2}

    with pytest.raises(ytdlp.IngestError, match=r"bytes read|Downloaded \d+ bytes, expected"):
        ytdlp.download(url, work_dir=work, policy=_policy(tmp_path))
    partial = work / "media.mp4.part"
    assert partial.exists()
    assert 0 < partial.stat().st_size < (media_server.root / "long.mp4").stat().st_size

    kept = partial.stat().st_size

    result = ytdlp.download(url, work_dir=work, policy=_policy(tmp_path))

    assert media_server.ranges_for("long.mp4")[-1] == f"bytes={kept}-"
    assert _sha256(result.path) == _sha256(media_server.root / "long.mp4")
    assert not partial.exists()


def test_a_cut_connection_is_resumed_within_one_attempt_when_retries_are_allowed(media_server, tmp_path):
    media_server.cuts["long.mp4"] = {2}
    result = ytdlp.download(media_server.url("long.mp4"), work_dir=tmp_path / "w", policy=_policy(tmp_path, retries=2))
    assert _sha256(result.path) == _sha256(media_server.root / "long.mp4")
    assert any(r and r.startswith("bytes=") and r != "bytes=0-" for r in media_server.ranges_for("long.mp4"))


def test_a_download_is_in_the_archive_only_once_recorded(media_server, tmp_path):
    policy = _policy(tmp_path)
    result = ytdlp.download(media_server.url("clip.mp4"), work_dir=tmp_path / "a", policy=policy)
    # yt-dlp itself never writes the archive: the caller does, after verifying the file.
    assert not (tmp_path / "archive.txt").exists()

    ytdlp.record_in_archive(result.info, policy)

    (entry,) = ytdlp.discover(media_server.url("clip.mp4"), limit=1, policy=policy).entries
    assert entry.in_archive
    assert entry.external_id == result.metadata.external_id


def test_same_file_names_on_different_urls_are_different_videos(media_server, tmp_path):
    first = ytdlp.video_identity({"extractor_key": "Generic", "id": "clip"}, "http://a.example/clip.mp4")
    second = ytdlp.video_identity({"extractor_key": "Generic", "id": "clip"}, "http://b.example/clip.mp4")
    assert first != second
    assert ytdlp.video_identity({"extractor_key": "Youtube", "id": "abc"}) == ("youtube", "abc")


def test_a_file_over_the_size_limit_is_refused_and_not_kept(media_server, tmp_path):
    with pytest.raises(ytdlp.PermanentIngestError, match=r"too large \(.*KiB, the limit is 9.8 KiB\)"):
        ytdlp.download(
            media_server.url("clip.mp4"), work_dir=tmp_path / "w", policy=_policy(tmp_path, max_filesize_bytes=10_000)
        )
    assert list((tmp_path / "w").iterdir()) == []


def test_a_redirect_to_a_private_address_is_refused(media_server, tmp_path):
    media_server.redirects["go"] = "http://10.20.30.40/clip.mp4"
    with pytest.raises(
        ytdlp.PermanentIngestError, match=r"refused 10\.20\.30\.40: 10\.20\.30\.40 is a private address"
    ):
        ytdlp.download(media_server.url("go"), work_dir=tmp_path / "w", policy=_policy(tmp_path))


def test_a_redirect_to_loopback_is_refused_unless_loopback_is_allowed(media_server, tmp_path):
    media_server.redirects["go"] = media_server.url("clip.mp4").replace("127.0.0.1", "localhost")
    # The first hop is loopback too here, so refusing the start shows the same check.
    with pytest.raises(ytdlp.PermanentIngestError, match="loopback"):
        ytdlp.download(media_server.url("go"), work_dir=tmp_path / "w", policy=_policy(tmp_path, allow_loopback=False))


def test_a_page_without_video_is_an_unsupported_url(media_server, tmp_path):
    with pytest.raises(ytdlp.PermanentIngestError, match="Unsupported URL"):
        ytdlp.download(media_server.url("page.html"), work_dir=tmp_path / "w", policy=_policy(tmp_path))


def test_a_missing_file_is_a_permanent_404(media_server, tmp_path):
    with pytest.raises(ytdlp.PermanentIngestError, match="404"):
        ytdlp.download(media_server.url("missing.mp4"), work_dir=tmp_path / "w", policy=_policy(tmp_path))


def test_a_feed_is_a_playlist_cut_to_the_limit(media_server, tmp_path):
    discovery = ytdlp.discover(media_server.url("feed.xml"), limit=2, policy=_policy(tmp_path))
    assert discovery.is_playlist
    assert discovery.title == "Clocks"
    assert [entry.url for entry in discovery.entries] == [media_server.url("clip.mp4"), media_server.url("other.mp4")]
    assert len({entry.external_id for entry in discovery.entries}) == 2


def test_discovery_sees_what_the_archive_already_holds(media_server, tmp_path):
    result = ytdlp.download(media_server.url("clip.mp4"), work_dir=tmp_path / "w", policy=_policy(tmp_path))
    ytdlp.record_in_archive(result.info, _policy(tmp_path))
    discovery = ytdlp.discover(media_server.url("feed.xml"), limit=5, policy=_policy(tmp_path))
    assert [entry.in_archive for entry in discovery.entries] == [True, False, False]


def test_a_too_long_video_is_refused_after_its_duration_is_known(media_server, tmp_path):
    # A direct file has no duration before download; the service checks it with PyAV after.
    result = ytdlp.download(media_server.url("long.mp4"), work_dir=tmp_path / "w", policy=_policy(tmp_path))
    assert result.metadata.duration_seconds is None
    assert ytdlp.too_long(12 * 60, 60) == "the video lasts 12:00, over the limit of 1:00"
    assert ytdlp.too_long(10 * 3600 + 5, 4 * 3600) == "the video lasts 10:00:05, over the limit of 4:00:00"
