"""Cutting snippets through the services: one per accepted reading, placed at its minute, idempotent."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from catalog import services
from catalog.models import Snippet, TimeReading
from pipeline.ffmpeg import FfmpegError
from pipeline.ingest.probe import probe_video
from pipeline.synth.clock_video import Shot, render_clock_video
from pipeline.synth.clocks import DrawnTime
from tests.catalog.test_scan_service import _video_with

pytestmark = pytest.mark.django_db


def _media_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def test_process_cuts_one_snippet_per_reading_at_its_minute(tmp_path, django_capture_on_commit_callbacks):
    shots = [Shot(3, None, seed=1), Shot(6, DrawnTime(7, 31, 20), seed=71)]
    video = _video_with(render_clock_video(tmp_path / "c.mp4", shots))

    call_command("process", "--video", str(video.pk), stdout=StringIO())

    reading = TimeReading.objects.get(sighting__video=video)
    snippet = Snippet.objects.get(video=video)
    assert snippet.reading == reading and snippet.status == Snippet.Status.READY
    assert snippet.minute_of_day == (reading.hour % 12) * 60 + reading.minute, "unknown AM/PM: the morning slot"
    clip = Path(settings.MEDIA_ROOT) / snippet.file.name
    assert probe_video(clip).duration_seconds == pytest.approx(snippet.duration_seconds, abs=0.1)
    # The clock is on screen from 3 s, in the second shot; the clip keeps footage before the clock
    # but none of the shot before (it could show another clock at another time).
    video.refresh_from_db()
    assert video.shot_boundaries == [pytest.approx(3.0, abs=0.5)]
    assert snippet.start_seconds == pytest.approx(video.shot_boundaries[0])
    assert (Path(settings.MEDIA_ROOT) / snippet.thumbnail.name).read_bytes()[:2] == b"\xff\xd8"
    files = _media_files()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("process", "--video", str(video.pk), stdout=StringIO())
    services.video_cut(video=video)

    assert Snippet.objects.filter(video=video).count() == 1, "re-running never duplicates rows"
    assert len(_media_files()) == len(files), "nor files: a rescan's old snippet files are removed"


def test_a_snippet_never_reaches_into_a_shot_with_another_clock(tmp_path, settings):
    # What is tested is where the cut stops, not detection or reading: the own detector finds both
    # of these rendered dials (the default COCO detector's second look finds one), and their hands
    # stand apart (at 8:40 they overlap, and the reader wavers between 7:40 and 8:40).
    from catalog import ml

    settings.DETECTOR_WEIGHTS = settings.OWN_DETECTOR_WEIGHTS
    ml.models_forget()
    shots = [Shot(5, DrawnTime(3, 15, 0), seed=81), Shot(5, DrawnTime(8, 10, 0), seed=82)]
    video = _video_with(render_clock_video(tmp_path / "c.mp4", shots))

    call_command("process", "--video", str(video.pk), stdout=StringIO())

    video.refresh_from_db()
    (cut,) = video.shot_boundaries
    snippets = list(Snippet.objects.filter(video=video).select_related("reading__sighting"))
    assert len(snippets) == 2
    for snippet in snippets:
        sighting = snippet.reading.sighting
        if sighting.start_seconds < cut:
            assert snippet.end_seconds <= cut + 1e-6, "the first clip stops at the cut"
        else:
            assert snippet.start_seconds >= cut - 1e-6, "the second clip starts at the cut"


def test_cutting_skips_uncertain_and_rejected_readings(tmp_path):
    video = _video_with(render_clock_video(tmp_path / "c.mp4", [Shot(4, DrawnTime(9, 0, 0), seed=72)]))
    call_command("process", "--video", str(video.pk), stdout=StringIO())
    Snippet.objects.filter(video=video).delete()
    TimeReading.objects.filter(sighting__video=video).update(status=TimeReading.Status.UNCERTAIN)

    assert services.video_cut(video=video) == []
    assert not Snippet.objects.filter(video=video).exists()


def test_a_source_that_cannot_be_cut_leaves_no_rows_or_files(tmp_path):
    video = _video_with(render_clock_video(tmp_path / "c.mp4", [Shot(4, DrawnTime(9, 0, 0), seed=72)]))
    call_command("process", "--video", str(video.pk), stdout=StringIO())
    Snippet.objects.filter(video=video).delete()
    before = _media_files() - {name for name in _media_files() if name.startswith(("snippets/", "thumbnails/"))}
    source = Path(settings.MEDIA_ROOT) / video.file.name
    data = source.read_bytes()
    source.write_bytes(data[:2048])  # the moov atom is first (faststart): the media is gone

    with pytest.raises((FfmpegError, ValueError)):
        services.video_cut(video=video)

    assert not Snippet.objects.filter(video=video).exists()
    assert _media_files() == before
