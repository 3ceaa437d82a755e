"""Ingest through the services: sources become Videos, downloads are verified and stored, failures are clean."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings

from catalog import services
from catalog.models import Source, Video
from catalog.services import ingest as ingest_services

pytestmark = pytest.mark.django_db


def _media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _add(url: str) -> Video:
    (source,) = services.sources_create(locators=[url], from_web=True)
    report = services.source_discover(source=source)
    (video,) = report.new_videos
    return video


def test_a_url_becomes_a_downloaded_video_with_its_metadata(media_server, ingest_settings):
    video = _add(media_server.url("clip.mp4"))
    assert video.status == Video.Status.PENDING

    video = services.video_download(video=video)

    assert video.status == Video.Status.DOWNLOADED, video.error
    expected_sha = hashlib.sha256((media_server.root / "clip.mp4").read_bytes()).hexdigest()
    assert video.sha256 == expected_sha
    assert video.file.name == f"videos/{expected_sha[:2]}/{expected_sha}.mp4"
    assert (Path(settings.MEDIA_ROOT) / video.file.name).read_bytes() == (media_server.root / "clip.mp4").read_bytes()
    assert video.extractor == "generic"
    assert video.url == media_server.url("clip.mp4")
    assert video.title == "clip"
    assert video.duration_seconds == pytest.approx(3.0, abs=0.1)
    assert video.info["webpage_url"] == media_server.url("clip.mp4")
    assert video.progress["status"] == "finished" and video.progress["percent"] == 100.0
    assert video.downloaded_at is not None
    assert _media_files() == [Path(settings.MEDIA_ROOT) / video.file.name], "no partial or stray files"


def test_progress_is_written_to_the_video_while_it_downloads(media_server, ingest_settings):
    video = _add(media_server.url("long.mp4"))
    seen_in_database: list[dict] = []

    def look(progress):
        seen_in_database.append(Video.objects.get(pk=video.pk).progress)

    services.video_download(video=video, on_progress=look)

    downloading = [p for p in seen_in_database if p.get("status") == "downloading"]
    assert downloading, seen_in_database
    first = downloading[0]
    assert set(first) >= {"percent", "downloaded_bytes", "total_bytes", "speed", "eta"}
    assert first["total_bytes"] == (media_server.root / "long.mp4").stat().st_size
    assert 0 <= first["percent"] <= 100


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("corrupt.mp4", "not a video: not a readable video"),
        ("audio.mp4", r"not a video: no video stream \(found audio\)"),
        ("empty.mp4", "the server sent an empty file"),
        ("page.html", "Unsupported URL"),
        ("missing.mp4", "HTTP Error 404"),
    ],
)
def test_a_bad_payload_ends_failed_with_a_reason_and_leaves_nothing_behind(media_server, ingest_settings, name, reason):
    source = services.source_create(kind=Source.Kind.URL, locator=media_server.url(name))
    video = Video.objects.create(source=source, extractor="generic", external_id=name, url=media_server.url(name))

    video = services.video_download(video=video)

    assert video.status == Video.Status.FAILED
    assert re.search(reason, video.error), video.error
    assert not video.file and not video.sha256
    assert _media_files() == []


def test_a_connection_cut_keeps_the_partial_file_and_a_retry_resumes_it(media_server, ingest_settings):
    video = _add(media_server.url("long.mp4"))
    media_server.cuts["long.mp4"] = {len(media_server.ranges_for("long.mp4")) + 2}

    failed = services.video_download(video=video)

    assert failed.status == Video.Status.FAILED
    assert "kept to resume on retry" in failed.error
    partial = services.video_work_dir(video) / "media.mp4.part"
    kept = partial.stat().st_size

    done = services.video_download(video=services.video_retry(video=failed))

    assert done.status == Video.Status.DOWNLOADED
    assert media_server.ranges_for("long.mp4")[-1] == f"bytes={kept}-"
    assert done.sha256 == hashlib.sha256((media_server.root / "long.mp4").read_bytes()).hexdigest()
    assert not services.video_work_dir(video).exists()


def test_the_same_file_from_two_urls_is_kept_once(media_server, ingest_settings):
    (media_server.root / "copy.mp4").write_bytes((media_server.root / "clip.mp4").read_bytes())
    first = services.video_download(video=_add(media_server.url("clip.mp4")))
    second = services.video_download(video=_add(media_server.url("copy.mp4")))

    assert first.status == Video.Status.DOWNLOADED
    assert second.status == Video.Status.DUPLICATE
    assert second.duplicate_of == first
    assert _media_files() == [Path(settings.MEDIA_ROOT) / first.file.name]


def test_a_source_seen_again_adds_nothing_new(media_server, ingest_settings):
    (source,) = services.sources_create(locators=[media_server.url("feed.xml")], from_web=True)
    first = services.source_discover(source=source)
    services.video_download(video=first.new_videos[0])

    again = services.source_discover(source=source)

    assert len(first.new_videos) == 3
    assert again.new_videos == []
    assert again.in_archive == 1, "the downloaded one is in yt-dlp's archive"
    assert again.already_known == 2, "the other two are already in the catalog"
    assert Video.objects.count() == 3
    source.refresh_from_db()
    assert source.kind == Source.Kind.PLAYLIST


def test_a_playlist_takes_at_most_its_limit(media_server, ingest_settings):
    (source,) = services.sources_create(locators=[media_server.url("feed.xml")], from_web=True, max_items=2)
    assert len(services.source_discover(source=source).new_videos) == 2


def test_a_video_deleted_from_the_catalog_is_not_fetched_again(media_server, ingest_settings):
    video = services.video_download(video=_add(media_server.url("clip.mp4")))
    Video.objects.filter(pk=video.pk).delete()

    (source,) = services.sources_create(locators=[media_server.url("clip.mp4")], from_web=True)
    report = services.source_discover(source=source)

    assert report.new_videos == [] and report.in_archive == 1


def test_a_download_does_not_start_without_enough_free_disk(media_server, ingest_settings):
    ingest_settings.INGEST_MIN_FREE_MB = 1024**4  # a petabyte
    video = services.video_download(video=_add(media_server.url("clip.mp4")))
    assert video.status == Video.Status.FAILED
    assert "not enough free disk space" in video.error
    assert media_server.ranges_for("clip.mp4") == [None], "only discovery touched the file"


def test_a_video_over_the_duration_limit_is_refused_after_download(media_server, ingest_settings):
    ingest_settings.INGEST_MAX_DURATION = 5
    video = services.video_download(video=_add(media_server.url("long.mp4")))
    assert video.status == Video.Status.FAILED
    assert video.error == "the video lasts 0:12, over the limit of 0:05"
    assert _media_files() == []


@pytest.mark.parametrize(
    ("locator", "reason"),
    [
        ("file:///etc/passwd", "only http and https URLs can be fetched, not file:"),
        ("data:video/mp4;base64,AAAA", "not data:"),
        ("ftp://example.org/clip.mp4", "not ftp:"),
        ("/etc/passwd", "only be ingested from the command line"),
        ("http://10.0.0.8/clip.mp4", "10.0.0.8 is a private address"),
        ("http://169.254.169.254/latest/", "169.254.169.254 is a link-local address"),
        ("http://[fe80::1]/clip.mp4", "link-local"),
    ],
)
def test_every_refused_kind_is_named_and_nothing_is_recorded(ingest_settings, locator, reason):
    with pytest.raises(services.IngestRefused) as refused:
        services.sources_create(locators=["ytsearch2:harmless", locator], from_web=True)
    assert reason in refused.value.problems[locator]
    assert not Source.objects.exists(), "all or nothing"


def test_loopback_is_refused_unless_the_setting_allows_it(settings, media_server):
    settings.INGEST_ALLOW_LOOPBACK = False
    with pytest.raises(services.IngestRefused, match=r"127\.0\.0\.1 is a loopback address"):
        services.sources_create(locators=[media_server.url("clip.mp4")], from_web=True)


def test_local_files_are_imported_once(media_library, ingest_settings):
    source = services.source_create(kind=Source.Kind.LOCAL, locator=str(media_library))
    video = services.local_file_import(source=source, path=media_library / "clip.mp4")
    again = services.local_file_import(source=source, path=media_library / "clip.mp4")

    assert again.pk == video.pk
    assert video.extractor == "local" and video.external_id == video.sha256
    assert video.status == Video.Status.DOWNLOADED
    assert (Path(settings.MEDIA_ROOT) / video.file.name).exists()
    assert (media_library / "clip.mp4").exists(), "the original stays where it was"


def test_hostile_titles_never_become_file_names(media_server, ingest_settings, tmp_path):
    feed = media_server.root / "hostile.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>../../etc</title>'
        f'<item><title>../../../../tmp/owned; rm -rf ~</title><enclosure url="{media_server.url("clip.mp4")}" '
        'type="video/mp4" length="1"/></item></channel></rss>'
    )
    (source,) = services.sources_create(locators=[media_server.url("hostile.xml")], from_web=True)
    (video,) = services.source_discover(source=source).new_videos
    assert video.title == "../../../../tmp/owned; rm -rf ~", "kept as data, shown escaped"

    video = services.video_download(video=video)

    assert video.file.name == f"videos/{video.sha256[:2]}/{video.sha256}.mp4"
    assert _media_files() == [Path(settings.MEDIA_ROOT) / video.file.name]
    assert not Path("/tmp/owned").exists()


@pytest.mark.django_db(transaction=True)
def test_downloads_wait_for_a_free_slot(ingest_settings):
    import threading

    from django.db import connection

    ingest_settings.INGEST_CONCURRENCY = 1
    entered = threading.Event()

    def second_download():
        try:
            with ingest_services._download_slot():
                entered.set()
        finally:
            connection.close()

    with ingest_services._download_slot():
        other = threading.Thread(target=second_download)
        other.start()
        assert not entered.wait(2.5), "a second download started while the only slot was taken"
    assert entered.wait(10), "the second download never got the freed slot"
    other.join()


def test_a_download_left_downloading_by_a_dead_worker_can_be_retried(media_server, ingest_settings):
    video = _add(media_server.url("clip.mp4"))
    Video.objects.filter(pk=video.pk).update(status=Video.Status.DOWNLOADING)  # its worker was SIGKILLed
    video.refresh_from_db()

    assert services.video_can_retry(video)
    done = services.video_download(video=services.video_retry(video=video))

    assert done.status == Video.Status.DOWNLOADED


def test_a_failed_download_is_not_archived_and_a_second_look_queues_it_again(media_server, ingest_settings):
    (source,) = services.sources_create(locators=[media_server.url("long.mp4")], from_web=True)
    (video,) = services.source_discover(source=source).new_videos
    media_server.cuts["long.mp4"] = {len(media_server.ranges_for("long.mp4")) + 2}
    assert services.video_download(video=video).status == Video.Status.FAILED

    again = services.source_discover(source=source)

    assert again.in_archive == 0
    assert [v.pk for v in again.unfinished] == [video.pk]
    assert services.video_download(video=again.unfinished[0]).status == Video.Status.DOWNLOADED


def test_nul_characters_from_the_web_are_dropped_before_storing():
    assert services.clean_text("a\x00b", 10) == "ab"
    assert services.clean_json({"k\x00": ["x\x00", 1]}) == {"k": ["x", 1]}
