"""End to end: rendered videos the models never saw go through ingest, scan and cut, and each clip
lands at the minute its clock shows."""

from __future__ import annotations

import csv
from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import Snippet, Video
from pipeline.clock_time import minutes_apart

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_pipeline_puts_each_clip_at_the_minute_its_clock_shows(tmp_path):
    library = tmp_path / "library"
    # A seed no model was trained or tuned on; clocks spread over the day.
    call_command("make_demo", str(library), "--count", "8", "--seed", "424242", "--spread", stdout=StringIO(),
                 stderr=StringIO())  # fmt: skip
    call_command("ingest", str(library), stdout=StringIO(), stderr=StringIO())
    call_command("process", "--all", stdout=StringIO(), stderr=StringIO())

    with (library / "labels.csv").open() as handle:
        labels = list(csv.DictReader(handle))
    clocks_by_file: dict[str, list[dict]] = {}
    for row in labels:
        clocks_by_file.setdefault(row["file"], []).append(row)
    assert Video.objects.count() == 8
    placed = 0
    for snippet in Snippet.objects.select_related("video", "reading__sighting"):
        shots = clocks_by_file[f"{snippet.video.title}.mp4"]
        # The shot the sighting starts in: the last one that began before it.
        shot = max((row for row in shots if float(row["second"]) <= snippet.reading.sighting.start_seconds + 0.5),
                   key=lambda row: float(row["second"]))  # fmt: skip
        hour, minute = int(shot["hour"]), int(shot["minute"])
        assert minutes_apart(snippet.reading.hour, snippet.reading.minute, hour, minute) <= 1, (
            f"{snippet.video.title}: clock shows {hour}:{minute:02d}, clip placed at {snippet.minute_label}"
        )
        if snippet.reading.meridiem != "unknown":
            assert snippet.minute_of_day // 60 == hour, "a display that says AM or PM puts the clip in that half"
        placed += 1
    assert placed >= len(labels) * 0.6, f"only {placed} of {len(labels)} clocks became clips"
