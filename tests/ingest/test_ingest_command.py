"""`manage.py ingest`: what a curator runs."""

from __future__ import annotations

import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_q.models import OrmQ

from catalog.models import Source, Video

pytestmark = pytest.mark.django_db


def _ingest(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("ingest", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_downloads_a_url_in_the_foreground(media_server, ingest_settings):
    out, _ = _ingest(media_server.url("clip.mp4"))
    video = Video.objects.get()
    assert video.status == Video.Status.DOWNLOADED
    assert f"downloaded #{video.pk} 'clip'" in out
    assert "1 new, 0 already in the catalog, 0 in the download archive" in out


def test_it_shows_a_progress_bar(media_server, ingest_settings, capsys):
    _ingest(media_server.url("long.mp4"))
    bar = capsys.readouterr().err
    assert "100%" in bar and "long" in bar


def test_a_playlist_is_limited_and_running_it_again_fetches_nothing(media_server, ingest_settings):
    _ingest(media_server.url("feed.xml"), "--max-items", "2")
    assert Video.objects.filter(status=Video.Status.DOWNLOADED).count() == 2

    out, _ = _ingest(media_server.url("feed.xml"), "--max-items", "2")

    assert "0 new, 0 already in the catalog, 2 in the download archive" in out
    assert Video.objects.count() == 2


def test_queue_hands_downloads_to_the_workers(media_server, ingest_settings):
    out, _ = _ingest(media_server.url("feed.xml"), "--queue")
    assert "queued 3 download(s) for the workers" in out
    assert OrmQ.objects.count() == 3
    assert set(Video.objects.values_list("status", flat=True)) == {Video.Status.PENDING}


def test_it_imports_a_local_folder_and_reports_bad_files(media_library, ingest_settings, tmp_path):
    folder = tmp_path / "clocks"
    folder.mkdir()
    for name in ("clip.mp4", "other.mp4", "corrupt.mp4"):
        shutil.copy(media_library / name, folder / name)
    (folder / "notes.txt").write_text("not a video, and not named like one")

    with pytest.raises(CommandError, match="1 video"):
        _ingest(str(folder))

    assert sorted(Video.objects.values_list("title", flat=True)) == ["clip", "other"]
    assert Source.objects.get().kind == Source.Kind.LOCAL


def test_refused_sources_are_named_and_nothing_is_ingested(ingest_settings):
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was ingested"):
        call_command("ingest", "ftp://example.org/a.mp4", "http://10.0.0.1/b.mp4", stderr=err)
    assert "refused 'ftp://example.org/a.mp4': only http and https URLs can be fetched, not ftp:" in err.getvalue()
    assert "10.0.0.1 is a private address" in err.getvalue()
    assert not Source.objects.exists()


def test_a_failed_download_fails_the_command(media_server, ingest_settings):
    with pytest.raises(CommandError, match="failed"):
        _ingest(media_server.url("corrupt.mp4"))
    assert Video.objects.get().status == Video.Status.FAILED
