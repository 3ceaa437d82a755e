"""Fixture data for benchmarks: a catalog with clips at every minute of the day.

Run inside Django: `manage.py shell -c "from bench.seed import seed_every_minute; seed_every_minute(2)"`.
"""

from __future__ import annotations

from django.db import transaction

from catalog.models import ClockSighting, Snippet, TimeReading, Video


@transaction.atomic
def seed_every_minute(clips_per_minute: int) -> int:
    video = Video.objects.create(extractor="bench", external_id="bench-video", title="Benchmark film")
    created = 0
    for minute_of_day in range(1440):
        for copy in range(clips_per_minute):
            start = float(minute_of_day * 10 + copy)
            sighting = ClockSighting.objects.create(
                video=video, start_seconds=start, end_seconds=start + 8, confidence=0.9
            )
            reading = TimeReading.objects.create(
                sighting=sighting,
                hour=(minute_of_day // 60) % 12 or 12,
                minute=minute_of_day % 60,
                meridiem="pm" if minute_of_day >= 720 else "am",
                confidence=0.9,
                method=TimeReading.Method.DIGITAL,
                shown_at_seconds=start + 3,
            )
            Snippet.objects.create(
                video=video,
                reading=reading,
                start_seconds=start,
                end_seconds=start + 8,
                minute_of_day=minute_of_day,
                status=Snippet.Status.READY,
            )
            created += 1
    return created
