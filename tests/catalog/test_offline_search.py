"""Search, tags and appearances with no downloaded weights (issue 16): the offline embedder
(ImageNet EfficientNet-Lite0, COCO NanoDet-m, WordNet) on real photographs, the sample pictures
of Debian's darknet package that `make test` unpacks into var/test-photos, and on a rendered clock."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from django.conf import settings
from django.db.models import Q
from PIL import Image
from rest_framework.test import APIClient

from catalog import services
from catalog.models import Concept, FrameTag, SceneEmbedding, Video
from pipeline.search.embedder import TINY_MODEL, load_embedder
from pipeline.search.imagenet import IMAGENET_EMBEDDER
from pipeline.synth.clock_video import Shot, render_clock_video, shot_frames
from pipeline.synth.clocks import DrawnTime
from pipeline.synth.photo_videos import slideshow_video
from tests.catalog.test_scan_service import _video_with

pytestmark = pytest.mark.django_db

PHOTOS = Path(settings.BASE_DIR) / "var" / "test-photos"
SLIDES = ("dog", "horses", "giraffe", "kite", "clock")
SECONDS = 2.0
CLOCK_CONCEPTS = {"analog clock", "wall clock", "clock"}


def _photo(name: str) -> np.ndarray:
    path = PHOTOS / f"{name}.jpg"
    assert path.exists(), f"{path} is missing: `make test` unpacks darknet's sample photos there"
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _rendered_clock() -> np.ndarray:
    return next(iter(shot_frames(Shot(1, DrawnTime(10, 10, 0), seed=5, scale=0.8), fps=1, width=1280, height=720)))


@pytest.fixture
def offline(settings) -> None:
    settings.SEARCH_EMBEDDER = "imagenet"


@pytest.fixture
def slideshow(tmp_path) -> Video:
    """One video, one shot per picture: dog, horses, giraffe, kite (real photos), a rendered clock."""
    pictures = [_photo(name) for name in SLIDES[:-1]] + [_rendered_clock()]
    path, cuts = slideshow_video(tmp_path / "slides.mp4", pictures, seconds=SECONDS)
    video = _video_with(path)
    Video.objects.filter(pk=video.pk).update(shot_boundaries=cuts, duration_seconds=SECONDS * len(SLIDES))
    return video


def _slide(body: dict, rank: int = 0) -> str:
    """Which picture a result shows, by the shot its second falls in."""
    return SLIDES[int(body["results"][rank]["second"] // SECONDS)]


def _search(**params) -> dict:
    response = APIClient().get("/api/search", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_word_finds_the_real_photo_that_shows_it_first(offline, slideshow):
    stored, tagged = services.video_index(video=slideshow)

    assert stored == len(SLIDES) and tagged > 0
    dog = _search(q="dog")
    assert dog["model"] == IMAGENET_EMBEDDER
    assert _slide(dog) == "dog"
    assert "dog" in dog["matched"][0]["concepts"] and "malamute" in dog["matched"][0]["concepts"]
    assert _slide(_search(q="a photo of horses")) == "horses"
    assert _slide(_search(q="giraffe")) == "giraffe"


def test_clock_finds_the_clock_scene(offline, slideshow):
    services.video_index(video=slideshow)

    body = _search(q="clock")

    assert _slide(body) == "clock"
    assert CLOCK_CONCEPTS & set(body["matched"][0]["concepts"])


def test_an_uploaded_photo_of_horses_finds_the_horses_scene(offline, slideshow, tmp_path):
    services.video_index(video=slideshow)
    # Not the frame itself: the photo mirrored, cut and shrunk, as a person's own copy would be.
    horses = _photo("horses")[:, ::-1]
    height, width = horses.shape[:2]
    upload = cv2.resize(horses[height // 10 :, width // 8 : -width // 8], None, fx=0.6, fy=0.6)
    path = tmp_path / "upload.jpg"
    Image.fromarray(np.ascontiguousarray(upload)).save(path, quality=85)

    with path.open("rb") as image:
        response = APIClient().post("/api/search", {"image": image}, format="multipart")

    assert response.status_code == 200, response.content
    assert _slide(response.json()) == "horses"


def test_words_and_a_picture_together_keep_the_scenes_with_the_words(offline, slideshow):
    services.video_index(video=slideshow)
    horses_frame = SceneEmbedding.objects.get(video=slideshow, second__gte=SECONDS, second__lt=2 * SECONDS)

    body = _search(q="dog", frame=horses_frame.pk)

    assert body["results"] and {_slide(body, rank) for rank in range(len(body["results"]))} <= {"dog", "horses"}
    assert _slide(body) != "horses" or "dog" in {tag.concept.name for tag in horses_frame.tags.all()}


def test_a_nonsense_query_gets_a_clear_answer_naming_the_closest_concepts(offline, slideshow):
    services.video_index(video=slideshow)

    body = _search(q="zxqvw blorptang")

    assert body["results"] == []
    assert body["detail"].startswith("no concept matches 'zxqvw blorptang'")
    assert len(body["suggestions"]) == 5
    assert all(name in body["detail"] for name in body["suggestions"])


def test_words_that_match_nothing_are_named_beside_those_that_do(offline, slideshow):
    services.video_index(video=slideshow)

    body = _search(q="a dog on a zxqvw")

    assert _slide(body) == "dog"
    assert body["unmatched"] == ["zxqvw"]


def test_tags_on_a_rendered_clock_video_include_a_clock_concept_and_say_when(offline, tmp_path):
    path = render_clock_video(tmp_path / "clock.mp4", [Shot(3, None, seed=4), Shot(4, DrawnTime(4, 20, 5), seed=61)])
    video = _video_with(path)
    Video.objects.filter(pk=video.pk).update(shot_boundaries=[3.0], duration_seconds=7)

    services.video_index(video=video)

    tags = APIClient().get(f"/api/videos/{video.pk}/tags/").json()
    clock_tags = [tag for tag in tags if tag["name"] in CLOCK_CONCEPTS]
    assert clock_tags, tags
    name = clock_tags[0]["name"]
    assert Concept.objects.get(name=name).source in (Concept.Source.IMAGENET, Concept.Source.COCO)
    when = APIClient().get(f"/api/videos/{video.pk}/appearances/", {"tag": name}).json()
    assert when["first_second"] is not None and when["first_second"] >= 3.0 - 1e-6, "the clock shot, not the first"
    assert when["total_seconds"] > 0


def test_switching_the_embedder_keeps_each_models_vectors_and_tags_apart(settings, slideshow):
    clip_name = load_embedder(TINY_MODEL, None, None, settings.DEVICE).name
    services.video_index(video=slideshow)  # CLIP (the tiny test model) serves
    settings.SEARCH_EMBEDDER = "imagenet"
    services.video_index(video=slideshow)
    settings.SEARCH_EMBEDDER = "auto"
    services.video_tag(video=slideshow)  # CLIP's tags again: the offline ones stay

    clip_rows = SceneEmbedding.objects.filter(video=slideshow, model_name=clip_name)
    offline_rows = SceneEmbedding.objects.filter(video=slideshow, model_name=IMAGENET_EMBEDDER)
    assert clip_rows.count() == offline_rows.count() == len(SLIDES)
    assert not clip_rows.filter(Q(embedding=None) | ~Q(imagenet_embedding=None)).exists()
    assert not offline_rows.filter(Q(imagenet_embedding=None) | ~Q(embedding=None)).exists()
    assert FrameTag.objects.filter(scene__in=offline_rows).exists()
    assert not FrameTag.objects.filter(scene__in=offline_rows, concept__source=Concept.Source.VOCABULARY).exists()

    by_clip = _search(q="a dog")
    assert by_clip["model"] == clip_name and {hit["scene_id"] for hit in by_clip["results"]} <= set(
        clip_rows.values_list("pk", flat=True)
    )
    settings.SEARCH_EMBEDDER = "imagenet"
    by_concepts = _search(q="dog")
    assert {hit["scene_id"] for hit in by_concepts["results"]} <= set(offline_rows.values_list("pk", flat=True))
    # A CLIP frame is not compared with offline vectors: mixing them is refused, not answered.
    mixed = APIClient().get("/api/search", {"q": "dog", "frame": clip_rows.first().pk})
    assert mixed.status_code == 400 and "embedded by" in mixed.json()["frame"][0]
    alone = _search(frame=clip_rows.first().pk)
    assert alone["model"] == clip_name


def test_the_search_page_says_which_embedder_serves_and_what_clip_would_add(offline, client):
    page = client.get("/search/").content.decode()

    assert "Searching offline" in page and IMAGENET_EMBEDDER in page
    assert "CLIP would add open-vocabulary search" in page


def test_an_offline_text_search_loads_no_model(offline, slideshow):
    from catalog import ml

    services.video_index(video=slideshow)
    # A web process that has embedded nothing: words are matched to concepts, no network is loaded.
    ml._imagenet_embedder.cache_clear()
    ml._served.clear()

    body = _search(q="dog")

    assert _slide(body) == "dog"
    assert ml._imagenet_embedder.cache_info().currsize == 0
