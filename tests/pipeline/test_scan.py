"""The scan stage end to end, with clockweb's own committed models, on videos rendered with clocks at known times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from pipeline.clock_time import minutes_apart
from pipeline.read.reader import load_reader
from pipeline.scan.detector import ClockDetector
from pipeline.scan.stage import ScanOptions, scan_video
from pipeline.synth.clock_video import Shot, render_clock_video
from pipeline.synth.clocks import DrawnTime, random_digital_style


@pytest.fixture(scope="module")
def models():
    # clockweb's own detector: these clocks are rendered, which is what it was trained on.
    detector = ClockDetector(settings.OWN_DETECTOR_WEIGHTS, device="cpu", confidence=0.4, image_size=320)
    return detector, load_reader(settings.READER_WEIGHTS, "cpu", settings.DISPLAY_READER_WEIGHTS)


def _scan(path: Path, models) -> object:
    detector, reader = models
    return scan_video(path, detector=detector, reader=reader, options=ScanOptions(samples_per_second=2.0))


def test_it_finds_a_clock_and_reads_its_time(tmp_path, models):
    video = render_clock_video(tmp_path / "clock.mp4", [Shot(6, DrawnTime(10, 42, 10), "analog", seed=21)])

    result = _scan(video, models)

    assert result.error is None
    assert len(result.sightings) == 1
    (found,) = result.sightings
    assert found.fitted is not None, found.rejection
    # Right within a minute, as eval_reader's top1 counts it.
    assert minutes_apart(found.fitted.hour, found.fitted.minute, 10, 42) <= 1, found.fitted
    assert found.fitted.meridiem == "unknown", "a dial never says AM or PM"
    # The clock showed 10:42:00 ten seconds before the video began; readings are whole minutes,
    # so the fit can only place it within that minute.
    assert -60 <= found.fitted.shown_at_second <= 0
    assert found.sighting.start_second <= 0.5 and found.sighting.end_second >= 5.0


def test_a_sighting_never_spans_a_shot_change(tmp_path, models):
    video = render_clock_video(
        tmp_path / "two-shots.mp4",
        [Shot(4, DrawnTime(3, 15, 0), "analog", seed=31), Shot(4, DrawnTime(8, 40, 0), "analog", seed=32)],
    )

    result = _scan(video, models)

    assert len(result.shot_boundaries) == 1
    assert result.shot_boundaries[0] == pytest.approx(4.0, abs=0.5)
    assert len(result.sightings) == 2
    first, second = result.sightings
    assert first.sighting.end_second < result.shot_boundaries[0] <= second.sighting.start_second
    read = [(s.fitted.hour, s.fitted.minute) for s in result.sightings if s.fitted]
    assert len(read) == 2, [s.rejection for s in result.sightings]
    assert minutes_apart(*read[1], 8, 40) <= 1, read


def test_overlapping_hands_on_a_dark_face_are_read(tmp_path, models):
    video = render_clock_video(tmp_path / "overlap.mp4", [Shot(4, DrawnTime(3, 15, 0), "analog", seed=31)])

    fitted = [s.fitted for s in _scan(video, models).sightings if s.fitted]

    assert fitted and minutes_apart(fitted[0].hour, fitted[0].minute, 3, 15) <= 1, fitted


def test_a_digital_display_is_read_with_what_it_says_of_am_pm(tmp_path, models):
    video = render_clock_video(tmp_path / "digital.mp4", [Shot(5, DrawnTime(21, 5, 0), "digital", seed=5, scale=0.5)])

    result = _scan(video, models)

    fitted = [s.fitted for s in result.sightings if s.fitted]
    assert fitted, [s.rejection for s in result.sightings]
    assert (fitted[0].hour, fitted[0].minute) == (9, 5)
    # The display's style comes from the shot's seed, as the renderer draws it. A 24-hour display
    # says PM by itself. A PM marker may be too small to read (this one is a few pixels tall, and
    # the recognizer calls it AM as often as PM), and then the reading says nothing of AM/PM; it
    # must never say AM.
    style = random_digital_style(np.random.default_rng(5))
    if not style.twelve_hour:
        assert fitted[0].meridiem == "pm"
    elif style.meridiem_marker:
        assert fitted[0].meridiem in {"pm", "unknown"}
    else:
        assert fitted[0].meridiem == "unknown"


def test_a_video_without_clocks_has_no_sightings(tmp_path, models):
    video = render_clock_video(tmp_path / "none.mp4", [Shot(4, None, seed=41)])
    result = _scan(video, models)
    assert result.sightings == ()
    assert result.frames == 8


def test_a_truncated_video_keeps_what_was_read(tmp_path, models):
    video = render_clock_video(tmp_path / "clock.mp4", [Shot(8, DrawnTime(6, 30, 0), "analog", seed=51)], audio=False)
    mkv = tmp_path / "clock.mkv"
    import subprocess

    from pipeline.ffmpeg import ffmpeg_binary

    subprocess.run([ffmpeg_binary(), "-loglevel", "error", "-i", str(video), "-c", "copy", str(mkv)], check=True)
    data = mkv.read_bytes()
    mkv.write_bytes(data[: len(data) * 85 // 100])

    result = _scan(mkv, models)

    assert result.error is not None and "truncated" in result.error
    assert 1.0 <= result.seconds_scanned < 7.5
    assert result.sightings, "the part that was read still yields its sighting"
