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


@transaction.atomic
def seed_scenes(count: int, model_name: str, seed: int = 3) -> int:
    """`count` scene vectors (random unit vectors: search cost does not depend on their meaning)
    spread over the benchmark film, each its own shot, half of them on a clip."""
    import numpy as np

    from catalog.models import SceneEmbedding

    video = Video.objects.get(external_id="bench-video")
    Video.objects.filter(pk=video.pk).update(shot_boundaries=[index + 0.5 for index in range(count)])
    snippets = list(Snippet.objects.filter(video=video).order_by("id"))
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, 512)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    SceneEmbedding.objects.bulk_create(
        (SceneEmbedding(video=video, second=float(index), model_name=model_name, embedding=vector.tolist(),
                        snippet=snippets[index % len(snippets)] if index % 2 == 0 and snippets else None)
         for index, vector in enumerate(vectors)),
        batch_size=2000,
    )  # fmt: skip
    return count
