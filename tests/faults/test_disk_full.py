"""A full disk, for real: a small tmpfs filled up. Every stage that writes files says "disk full"
on the video, keeps no partial file and no half-written rows, and works again once there is room."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog import services, tasks
from catalog.models import SceneEmbedding, Snippet, Source, TimeReading, Video
from tests.faults.workers import media_files, referenced_files
from tests.ingest.server import MediaServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str, int], Path]]:
    """Mounts a tmpfs of so many KiB: a disk that really runs full (ENOSPC), as root only."""
    mounted: list[Path] = []

    def mount(name: str, kib: int) -> Path:
        path = tmp_path / name
        path.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(path)],
                              capture_output=True, text=True, check=False)  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs to fill up ({done.stderr.strip()}); needs root")
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        subprocess.run(["umount", "--lazy", str(path)], check=False)


def _resize(disk: Path, kib: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={kib}k", str(disk)], check=True)


def _fill(disk: Path, leave_bytes: int) -> Path:
    """A file that takes all the room but `leave_bytes`."""
    filler = disk / "filler"
    filler.write_bytes(b"\0" * max(0, shutil.disk_usage(disk).free - leave_bytes))
    return filler


def _files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def _queued_download(server: MediaServer, name: str) -> Video:
    (source,) = services.sources_create(locators=[server.url(name)], from_web=True)
    (video,) = services.source_discover(source=source).new_videos
    return video


@pytest.fixture
def film_server(clock_films, tmp_path: Path) -> Iterator[MediaServer]:
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(clock_films["morning"], site / "morning.mp4")
    server = MediaServer(site)
    yield server
    server.close()


def test_a_download_onto_a_full_disk_says_so_and_keeps_no_partial_file(ingest_settings, small_disk, film_server):
    ingest_settings.INGEST_MIN_FREE_MB = 0
    ingest_settings.INGEST_WORK_DIR = small_disk("work", 64)  # the film is 220 KiB
    video = _queued_download(film_server, "morning.mp4")

    result = tasks.download_video(video.pk)

    video.refresh_from_db()
    assert result["status"] == video.status == Video.Status.FAILED
    assert video.error.startswith("disk full: no space left for the download in ")
    assert "No space left on device" in video.error, "with the system's own words"
    assert _files(ingest_settings.INGEST_WORK_DIR) == [], "the partial download is gone: it filled the disk"
    assert media_files() == set()

    _resize(ingest_settings.INGEST_WORK_DIR, 4096)
    video = services.video_download(video=services.video_retry(video=video))
    assert video.status == Video.Status.DOWNLOADED and video.error == ""
    assert media_files() == {video.file.name}


def test_a_video_that_does_not_fit_into_the_media_leaves_no_partial_file_there(
    ingest_settings, small_disk, film_server
):
    ingest_settings.INGEST_MIN_FREE_MB = 0
    media = small_disk("media", 128)  # the work folder is on another disk: the file is copied over
    ingest_settings.MEDIA_ROOT = media
    video = _queued_download(film_server, "morning.mp4")

    video = services.video_download(video=video)

    assert video.status == Video.Status.FAILED
    assert video.error.startswith(f"disk full: no space left for the video in {media}")
    assert _files(media) == [], "nothing half-copied under the content-addressed name"
    assert _files(ingest_settings.INGEST_WORK_DIR) == []

    _resize(media, 4096)
    video = services.video_download(video=services.video_retry(video=video))
    assert video.status == Video.Status.DOWNLOADED
    assert _files(media) == [video.file.name]


def test_cutting_and_embedding_onto_a_full_disk_say_so_and_leave_no_partial_files_or_rows(
    settings, small_disk, clock_films, tmp_path
):
    settings.EMBED_EVERY_SECONDS = 0.5
    media = small_disk("media", 2048)
    settings.MEDIA_ROOT = media
    source = Source.objects.create(kind=Source.Kind.LOCAL, locator=str(tmp_path))
    video = services.local_file_import(source=source, path=clock_films["noon"])

    filler = _fill(media, leave_bytes=150 * 1024)  # room for about one clip
    said = StringIO()
    with pytest.raises(CommandError, match="could not be scanned"):
        call_command("process", "--video", str(video.pk), "--no-embed", stdout=StringIO(), stderr=said)

    assert f"#{video.pk}: cutting failed: disk full: no space left for cutting in {media}" in said.getvalue()
    video.refresh_from_db()
    assert video.status == Video.Status.SCANNED, "its sightings and readings stand"
    accepted = TimeReading.objects.filter(sighting__video=video, status=TimeReading.Status.ACCEPTED).count()
    assert accepted >= 2
    assert video.error.startswith("cutting failed: disk full: ")
    assert not [name for name in media_files() if ".part" in name]
    assert media_files() - {"filler"} == set(referenced_files()), "a clip is there with its thumbnail and row, or not"
    assert Snippet.objects.filter(video=video).count() < accepted

    filler.unlink()
    assert tasks.cut_video(video.pk)["snippets"] >= 1
    video.refresh_from_db()
    assert video.error == ""
    assert Snippet.objects.filter(video=video, status=Snippet.Status.READY).count() == accepted

    filler = _fill(media, leave_bytes=30 * 1024)  # room for a few frame thumbnails
    result = tasks.embed_video(video.pk)

    video.refresh_from_db()
    assert result["error"].startswith("disk full: no space left for embedding in ")
    assert video.error.startswith("embedding failed: disk full: ")
    assert not SceneEmbedding.objects.filter(video=video).exists(), "no vectors stored without their thumbnails"
    assert not [name for name in media_files() if name.startswith("frames/")], "no thumbnails without their rows"

    filler.unlink()
    assert tasks.embed_video(video.pk)["embeddings"] > 0
    video.refresh_from_db()
    assert video.error == ""
    assert media_files() == set(referenced_files())
