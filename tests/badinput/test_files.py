"""Bad files, handed over the ways users hand them over: `manage.py ingest PATH`, a web server the
worker downloads from, and `manage.py process` on a stored file that went bad since. Each ends in an
error that names the problem, the worker keeps going, and nothing is left half-written."""

from __future__ import annotations

import os
import re
import shutil
import time
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django_q.models import Task

from catalog.models import ClockSighting, SceneEmbedding, Snippet, Source, TimeReading, Video
from catalog.tasks import queue_download
from pipeline.synth.clock_video import Shot, render_clock_video
from pipeline.synth.clocks import DrawnTime
from tests.badinput.corpus import BAD_FILES, BadFile
from tests.catalog.test_scan_service import _video_with
from tests.ingest.test_worker import _wait_until_settled, cluster  # noqa: F401 - cluster is a fixture
from tests.media import overwrite_with_garbage, truncate

pytestmark = pytest.mark.django_db


def _files_under(folder: Path | str) -> list[Path]:
    root = Path(folder)
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _nothing_stored_for(video: Video) -> None:
    assert not ClockSighting.objects.filter(video=video).exists()
    assert not TimeReading.objects.filter(sighting__video=video).exists()
    assert not Snippet.objects.filter(video=video).exists()
    assert not SceneEmbedding.objects.filter(video=video).exists()


# -- manage.py ingest PATH -----------------------------------------------------------------------


@pytest.mark.parametrize("case", BAD_FILES, ids=lambda case: case.name)
def test_it_refuses_each_bad_file_at_import_and_keeps_nothing(case: BadFile, bad_files, ingest_settings, capsys):
    err = StringIO()
    with pytest.raises(CommandError, match=r"1 video\(s\) or source\(s\) failed"):
        call_command("ingest", str(bad_files[case.name]), stdout=StringIO(), stderr=err)

    said = err.getvalue() + capsys.readouterr().out  # a file's error goes through tqdm, to stdout
    assert re.search(case.reason, said), said
    assert not Video.objects.exists()
    assert _files_under(settings.MEDIA_ROOT) == [], "nothing stored"
    assert _files_under(settings.INGEST_WORK_DIR) == [], "no staging copy left"


HOSTILE_NAMES = {
    "not-utf-8": (b"clock-\xff\xfe-\xc3(.mp4", "clock-\ufffd\ufffd-\ufffd("),
    "longest-a-name-can-be": (b"c" * 251 + b".mp4", "c" * 251),
    "terminal-escapes-and-rtl-override": ("clock\x1b[2J\u202egnp.exe\x07.mp4".encode(), "clock[2Jgnp.exe"),
    "markup": (b"<img src=x onerror=alert(1)>.mp4", "<img src=x onerror=alert(1)>"),
    "option-lookalike": (b"--exec=rm -rf ~.mp4", "--exec=rm -rf ~"),
}


@pytest.mark.parametrize(("name", "title"), HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_a_good_video_under_a_hostile_file_name_is_stored_with_a_clean_title(name, title, bad_files, ingest_settings,
                                                                             tmp_path):  # fmt: skip
    folder = tmp_path / "from a camera"
    folder.mkdir()
    shutil.copyfile(bad_files["good"], folder / os.fsdecode(name))

    call_command("ingest", str(folder), stdout=StringIO(), stderr=StringIO())

    video = Video.objects.get()
    assert video.status == Video.Status.DOWNLOADED
    assert video.title == title
    assert video.file.name == f"videos/{video.sha256[:2]}/{video.sha256}.mp4", "the name never becomes a path"
    assert _files_under(settings.MEDIA_ROOT) == [Path(video.file.name)]


# -- the worker downloads them ---------------------------------------------------------------------


def _task_results(func: str, count: int, timeout: float = 30) -> list[object]:
    """The results of `count` tasks of `func`, once the cluster has saved them all (a moment after
    each task's own writes)."""
    deadline = time.monotonic() + timeout
    while (saved := Task.objects.filter(func=func).count()) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    assert saved == count, f"{saved} of {count} task results saved"
    return [task.result for task in Task.objects.filter(func=func)]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_fails_every_bad_download_clearly_and_keeps_working(bad_files, media_server, cluster):  # noqa: F811
    source = Source.objects.create(kind=Source.Kind.URL, locator=media_server.url("/"))
    cases = [case for case in BAD_FILES if case.over_http]
    videos = {}
    for name in [case.name for case in cases] + ["good"]:
        shutil.copyfile(bad_files[name], media_server.root / f"{name}.mp4")
        url = media_server.url(f"{name}.mp4")
        videos[name] = Video.objects.create(source=source, extractor="generic", external_id=name, url=url)
        queue_download(videos[name])  # the good one last: the worker must still be there for it

    settled = dict(zip(videos, _wait_until_settled(list(videos.values()), cluster, timeout=300), strict=True))

    for case in cases:
        video = settled[case.name]
        assert video.status == Video.Status.FAILED, (case.name, video.status)
        assert re.search(case.expected_download_error, video.error), (case.name, video.error)
        assert not video.file and not video.sha256
    good = settled["good"]
    assert good.status == Video.Status.DOWNLOADED and good.sha256
    assert cluster.poll() is None, "the worker is still running"
    results = _task_results("catalog.tasks.download_video", len(videos))
    assert all(isinstance(result, dict) for result in results), "no task crashed"
    assert sorted(result["video"] for result in results if result["error"]) == sorted(
        settled[case.name].pk for case in cases
    )
    assert _files_under(settings.MEDIA_ROOT) == [Path(good.file.name)], "no partial or stray files"
    assert _files_under(settings.INGEST_WORK_DIR) == [], "nothing to resume: none of these is worth a retry"


# -- manage.py process on a stored file that went bad ----------------------------------------------


@pytest.fixture(scope="module")
def clock_film(tmp_path_factory) -> Path:
    """Twelve seconds of a clock showing 4:20."""
    folder = tmp_path_factory.mktemp("clock-film")
    return render_clock_video(folder / "clock.mp4", [Shot(12, DrawnTime(4, 20, 5), "analog", seed=61)])


def _process(video: Video) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match=r"1 video\(s\) could not be scanned"):
        call_command("process", "--video", str(video.pk), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


STORED_DAMAGE = {
    "file-gone": (lambda path: path.unlink(), "no such file"),
    "file-emptied": (lambda path: path.write_bytes(b""), "cannot be opened as a video"),
    "file-overwritten-with-text": (
        lambda path: path.write_text("moved to the archive\n" * 50),
        "cannot be opened as a video: FFmpeg said: Invalid data found",
    ),
}


@pytest.mark.parametrize(("damage", "reason"), STORED_DAMAGE.values(), ids=STORED_DAMAGE.keys())
def test_a_stored_file_that_cannot_be_read_fails_its_video_and_stores_nothing(damage, reason, clock_film):
    video = _video_with(clock_film)
    stored = Path(settings.MEDIA_ROOT) / video.file.name
    damage(stored)

    _, err = _process(video)

    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert reason in video.error and reason in err
    _nothing_stored_for(video)
    left = [stored.relative_to(settings.MEDIA_ROOT)] if stored.exists() else []
    assert _files_under(settings.MEDIA_ROOT) == left, "no snippets, thumbnails or frames"


def test_a_stored_file_damaged_in_the_middle_keeps_only_what_was_read_before_it(clock_film, tmp_path):
    damaged = tmp_path / "damaged.mp4"
    shutil.copyfile(clock_film, damaged)
    video = _video_with(overwrite_with_garbage(damaged, start_fraction=0.5, length_fraction=0.3, seed=8))

    out = StringIO()
    call_command("process", "--video", str(video.pk), "--no-embed", stdout=out, stderr=StringIO())

    video.refresh_from_db()
    stopped = re.search(r"read only the first ([0-9.]+) s: .*decoding stopped after [0-9.]+ s: FFmpeg said: ",
                        video.error)  # fmt: skip
    assert stopped, video.error
    assert video.error in out.getvalue(), "the command says so too"
    assert 0 < float(stopped[1]) < 12
    read = float(stopped[1]) + 0.05  # the message rounds to a tenth
    assert all(s.end_seconds <= read for s in ClockSighting.objects.filter(video=video))


def test_a_stored_file_cut_short_says_it_is_truncated(clock_film, tmp_path):
    short = tmp_path / "short.mp4"
    shutil.copyfile(clock_film, short)
    video = _video_with(truncate(short, keep_fraction=0.5))

    _, err = _process(video)

    video.refresh_from_db()
    assert "truncated" in video.error
    assert "cutting failed: the file is truncated" in err
    assert not Snippet.objects.filter(video=video).exists()
    assert _files_under(settings.MEDIA_ROOT) == [Path(video.file.name)], "no snippet or thumbnail half-made"


def test_a_video_whose_download_failed_has_nothing_to_process():
    video = Video.objects.create(extractor="generic", external_id="x", url="https://example.org/x.mp4",
                                 status=Video.Status.FAILED, error="not a video: the file is empty")  # fmt: skip

    _, err = _process(video)

    assert f"#{video.pk}: no file to scan (status failed)" in err
    video.refresh_from_db()
    assert video.status == Video.Status.FAILED and video.error == "not a video: the file is empty"
