"""Scanning through the services and `manage.py process`: rows stored once, failures recorded."""

from __future__ import annotations

import hashlib
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from catalog.models import ClockSighting, Concept, FrameTag, SceneEmbedding, TimeReading, Video
from pipeline.clock_time import minutes_apart
from pipeline.synth.clock_video import Shot, render_clock_video
from pipeline.synth.clocks import DrawnTime

pytestmark = pytest.mark.django_db


def _video_with(path: Path) -> Video:
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    name = f"videos/{sha[:2]}/{sha}.mp4"
    target = Path(settings.MEDIA_ROOT) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(path.read_bytes())
    return Video.objects.create(extractor="local", external_id=sha, sha256=sha, file=name, title=path.stem,
                                status=Video.Status.DOWNLOADED, duration_seconds=6)  # fmt: skip


@pytest.fixture
def clock_video(tmp_path) -> Video:
    return _video_with(render_clock_video(tmp_path / "clock.mp4", [Shot(6, DrawnTime(4, 20, 5), "analog", seed=61)]))


def test_process_stores_sightings_and_readings_once(clock_video):
    out = StringIO()
    call_command("process", "--video", str(clock_video.pk), stdout=out)
    call_command("process", "--video", str(clock_video.pk), stdout=StringIO())

    clock_video.refresh_from_db()
    assert clock_video.status == Video.Status.SCANNED
    assert ClockSighting.objects.filter(video=clock_video).count() == 1, "a second run replaces, never adds"
    reading = TimeReading.objects.get(sighting__video=clock_video)
    assert minutes_apart(reading.hour, reading.minute, 4, 20) <= 1, str(reading)
    assert reading.meridiem == "unknown"
    assert reading.method in {TimeReading.Method.ANALOG_MODEL, TimeReading.Method.ANALOG_GEOMETRY}
    assert -60 <= reading.shown_at_seconds <= 0
    sighting = reading.sighting
    assert sighting.boxes and len(sighting.boxes[0]) == 6
    assert clock_video.info["scan"]["sightings"] == 1
    assert "1 sighting(s), 1 reading(s)" in out.getvalue()


def test_a_corrupt_file_fails_the_video_with_a_reason_and_stores_nothing(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00garbage" * 10_000)
    video = _video_with(broken)

    with pytest.raises(CommandError, match="could not be scanned"):
        call_command("process", "--video", str(video.pk), stdout=StringIO(), stderr=StringIO())

    video.refresh_from_db()
    assert video.status == Video.Status.FAILED
    assert video.error
    assert not ClockSighting.objects.filter(video=video).exists()


def test_missing_models_are_named_and_the_video_is_left_as_it_was(clock_video, settings):
    settings.DETECTOR_WEIGHTS = "/nowhere/detector.pt"
    from catalog import ml

    ml.models_forget()
    with pytest.raises(CommandError, match=r"cannot load the clock detector /nowhere/detector\.pt"):
        call_command("process", "--video", str(clock_video.pk), stdout=StringIO())
    clock_video.refresh_from_db()
    assert clock_video.status == Video.Status.DOWNLOADED
    assert "train_detector" in clock_video.error


def test_process_all_takes_downloaded_videos(clock_video):
    call_command("process", "--all", stdout=StringIO())
    clock_video.refresh_from_db()
    assert clock_video.status == Video.Status.SCANNED


def test_process_runs_the_same_chain_as_the_workers_tags_and_am_pm_proposals_included(clock_video, settings):
    """`process` in the foreground once stored embeddings but no tags; the workers' search stage
    embeds and then tags, and so does `process` now."""
    settings.TAG_THRESHOLD = 0.0  # the tiny CLIP's scores mean nothing: keep them all, to count them
    out = StringIO()
    call_command("process", "--video", str(clock_video.pk), stdout=out)

    scenes = SceneEmbedding.objects.filter(video=clock_video)
    tags = FrameTag.objects.filter(scene__video=clock_video)
    assert scenes.exists()
    assert tags.count() == scenes.count() * Concept.objects.filter(active=True).count()
    assert f"{tags.count()} frame tag(s)" in out.getvalue()
    reading = TimeReading.objects.get(sighting__video=clock_video)
    assert reading.meridiem_proposal in {"am", "pm"}, "tagging proposes AM/PM from daytime against night"
