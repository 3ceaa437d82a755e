"""Tags through the services and the API: frames scored against the vocabulary, top tags per
video, "when does X appear", and AM/PM proposals (tiny random CLIP: plumbing, not meaning)."""

from __future__ import annotations

import numpy as np
import pytest
from rest_framework.test import APIClient

from catalog import services
from catalog.models import ClockSighting, Concept, FrameTag, SceneEmbedding, TimeReading
from pipeline.clock_time import Meridiem
from pipeline.search.embedder import TINY_MODEL, load_embedder
from pipeline.search.tagging import DEFAULT_CONCEPTS
from tests.support import make_video

pytestmark = pytest.mark.django_db


def _scenes(video, seconds: list[float]) -> list[SceneEmbedding]:
    name = load_embedder(TINY_MODEL, None, None, "auto").name
    rng = np.random.default_rng(11)
    out = []
    for second in seconds:
        vector = rng.normal(size=512)
        out.append(SceneEmbedding.objects.create(video=video, second=second, model_name=name,
                                                 embedding=(vector / np.linalg.norm(vector)).tolist()))  # fmt: skip
    return out


def test_the_default_vocabulary_is_in_the_database():
    assert Concept.objects.filter(active=True).count() == len(DEFAULT_CONCEPTS)


def test_tagging_scores_every_frame_against_active_concepts_and_can_run_again(settings):
    settings.TAG_THRESHOLD = 0.0  # keep every score, to count them
    Concept.objects.exclude(name__in=["daytime", "night", "a train station"]).update(active=False)
    video = make_video()
    _scenes(video, [0.0, 10.0, 20.0])

    stored = services.video_tag(video=video)
    again = services.video_tag(video=video)

    assert stored == again == 9 == FrameTag.objects.filter(scene__video=video).count()
    for scene in SceneEmbedding.objects.filter(video=video):
        assert sum(tag.score for tag in scene.tags.all()) == pytest.approx(1.0, abs=1e-4)


def test_a_reading_without_am_pm_gets_a_proposal_with_its_confidence():
    video = make_video()
    _scenes(video, [1.0, 3.0])
    sighting = ClockSighting.objects.create(video=video, start_seconds=0.5, end_seconds=3.5, confidence=0.9)
    reading = TimeReading.objects.create(sighting=sighting, hour=3, minute=15, confidence=0.9,
                                         method=TimeReading.Method.ANALOG_MODEL, shown_at_seconds=0.0)  # fmt: skip

    services.video_tag(video=video)

    reading.refresh_from_db()
    assert reading.meridiem == "unknown", "the proposal never overwrites the reading"
    assert reading.meridiem_proposal in {"am", "pm"}
    assert 0.0 <= reading.meridiem_proposal_confidence <= 1.0


def test_a_sure_enough_proposal_decides_the_half_of_the_day_but_never_a_curators_word(settings):
    from django.contrib.auth.models import User
    from django.utils import timezone

    from catalog.models import Snippet
    from tests.support import make_snippet

    video = make_video()
    _scenes(video, [10.0, 12.0])
    snippet = make_snippet(3 * 60 + 15, video=video, meridiem=Meridiem.UNKNOWN, start=10.0)
    verified = make_snippet(4 * 60 + 20, video=video, meridiem=Meridiem.UNKNOWN, start=10.0)
    TimeReading.objects.filter(pk=verified.reading_id).update(verified_by=User.objects.create_user("c"),
                                                              verified_at=timezone.now())  # fmt: skip

    services.video_tag(video=video)  # the test default threshold (2.0) only records proposals
    reading = TimeReading.objects.get(pk=snippet.reading_id)
    assert reading.meridiem == "unknown" and reading.meridiem_proposal in {"am", "pm"}
    settings.MERIDIEM_ACCEPT_CONFIDENCE = reading.meridiem_proposal_confidence  # just sure enough
    services.video_tag(video=video)

    reading.refresh_from_db()
    assert reading.meridiem == reading.meridiem_proposal
    expected = 3 * 60 + 15 + (720 if reading.meridiem == "pm" else 0)
    assert Snippet.objects.get(pk=snippet.pk).minute_of_day == expected
    assert TimeReading.objects.get(pk=verified.reading_id).meridiem == "unknown", "a curator's reading stays"


def _tag(scene: SceneEmbedding, name: str, score: float) -> None:
    FrameTag.objects.create(scene=scene, concept=Concept.objects.get(name=name), score=score)


def test_top_tags_count_frames_and_when_a_concept_appears():
    video = make_video()
    scenes = _scenes(video, [0.0, 10.0, 20.0, 30.0])
    for scene in scenes[:3]:
        _tag(scene, "night", 0.6)
    _tag(scenes[1], "a train station", 0.4)
    _tag(scenes[3], "a train station", 0.5)

    tags = APIClient().get(f"/api/videos/{video.pk}/tags/").json()
    appears = APIClient().get(f"/api/videos/{video.pk}/appearances/", {"tag": "a train station"}).json()

    assert [(tag["name"], tag["frames"]) for tag in tags] == [("night", 3), ("a train station", 2)]
    assert tags[0]["share"] == 0.75 and tags[0]["mean_score"] == pytest.approx(0.6)
    assert appears["first_second"] == 5.0
    assert appears["segments"] == [{"start": 5.0, "end": 15.0}, {"start": 25.0, "end": 35.0}]
    assert appears["total_seconds"] == 20.0


def test_asking_for_a_concept_outside_the_vocabulary_is_a_clear_error():
    video = make_video()
    response = APIClient().get(f"/api/videos/{video.pk}/appearances/", {"tag": "a unicorn"})
    assert response.status_code == 400 and "vocabulary" in response.json()["tag"][0]
    assert APIClient().get("/api/videos/999999/tags/").status_code == 404
