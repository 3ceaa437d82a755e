"""Scene search: embedding videos, and /api/search by text, image and frame, with filters, one
result per shot, pagination and clear errors. The embedder is a tiny random-init open_clip model:
these tests check the plumbing, not the meaning of its vectors."""

from __future__ import annotations

import io
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from PIL import Image
from rest_framework.test import APIClient

from catalog import services
from catalog.models import Concept, FrameTag, SceneEmbedding, Video
from pipeline.clock_time import Meridiem
from pipeline.search.embedder import TINY_MODEL, load_embedder
from pipeline.synth.clock_video import Shot, render_clock_video
from pipeline.synth.clocks import DrawnTime
from tests.catalog.test_scan_service import _video_with
from tests.support import make_snippet, make_video

pytestmark = pytest.mark.django_db


def _model_name() -> str:
    return load_embedder(TINY_MODEL, None, None, settings.DEVICE).name


def _scene(vector: np.ndarray, *, video: Video | None = None, second: float = 1.0, snippet=None) -> SceneEmbedding:
    unit = vector / np.linalg.norm(vector)
    return SceneEmbedding.objects.create(video=video or make_video(), second=second, snippet=snippet,
                                         model_name=_model_name(), embedding=unit.tolist())  # fmt: skip


def _search(**params) -> dict:
    response = APIClient().get("/api/search", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_embedding_covers_every_shot_and_each_snippet_and_can_run_again(tmp_path):
    shots = [Shot(4, None, seed=3), Shot(5, DrawnTime(6, 30, 0), seed=91)]
    video = _video_with(render_clock_video(tmp_path / "v.mp4", shots))
    call_command("process", "--video", str(video.pk), stdout=StringIO())

    stored = services.video_embed(video=video)
    again = services.video_embed(video=video)

    scenes = list(SceneEmbedding.objects.filter(video=video).order_by("second"))
    assert stored == again == len(scenes), "a second run replaces, never adds"
    assert scenes[0].second < 4.0 < scenes[-1].second, "a keyframe in each shot"
    assert any(scene.snippet is not None for scene in scenes), "the snippet's own frame"
    assert all((Path(settings.MEDIA_ROOT) / scene.thumbnail).read_bytes()[:2] == b"\xff\xd8" for scene in scenes)


def test_a_stored_frame_finds_itself_first():
    rng = np.random.default_rng(1)
    scenes = [_scene(rng.normal(size=512)) for _ in range(30)]

    body = _search(frame=scenes[7].pk)

    assert body["results"][0]["scene_id"] == scenes[7].pk
    assert body["results"][0]["score"] == pytest.approx(1.0, abs=1e-3)
    assert body["model"] == _model_name()


def test_text_and_image_queries_return_scenes_with_what_a_page_needs(tmp_path):
    rng = np.random.default_rng(2)
    snippet = make_snippet(10 * 60)
    _scene(rng.normal(size=512), video=snippet.video, snippet=snippet)
    for _ in range(5):
        _scene(rng.normal(size=512))

    by_text = _search(q="a rainy train station at night")
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(image, format="PNG")
    image.seek(0)
    by_image = APIClient().post("/api/search", {"image": image, "q": "a red wall"}, format="multipart")

    assert len(by_text["results"]) == 6
    assert by_image.status_code == 200, by_image.content
    assert len(by_image.json()["results"]) == 6, "text and picture together search the same scenes"
    first = by_text["results"][0]
    assert set(first) == {"scene_id", "video", "second", "thumbnail", "snippet", "score"}
    with_snippet = [hit for hit in by_text["results"] if hit["snippet"]]
    assert with_snippet and with_snippet[0]["snippet"]["minute"] == "10:00"
    scores = [hit["score"] for hit in by_text["results"]]
    assert scores == sorted(scores, reverse=True)


def test_near_identical_frames_of_one_shot_are_one_result():
    base = np.random.default_rng(3).normal(size=512)
    video = make_video(shot_boundaries=[10.0])
    _scene(base, video=video, second=1.0)
    _scene(base + 0.01, video=video, second=5.0)  # the same shot
    _scene(base + 0.02, video=video, second=12.0)  # the next shot

    results = _search(frame=SceneEmbedding.objects.get(second=1.0).pk)["results"]

    assert [hit["second"] for hit in results] == [1.0, 12.0]


def test_pages_continue_without_repeating():
    rng = np.random.default_rng(4)
    for _ in range(25):
        _scene(rng.normal(size=512))
    query = SceneEmbedding.objects.first().pk

    first = _search(frame=query, page_size=10)["results"]
    second = _search(frame=query, page_size=10, page=2)["results"]
    third = _search(frame=query, page_size=10, page=3)["results"]

    ids = [hit["scene_id"] for hit in first + second + third]
    assert len(first) == len(second) == 10 and len(third) == 5
    assert len(set(ids)) == 25


@pytest.mark.parametrize("share", [0.1, 0.01])
def test_selective_filters_still_fill_the_page(share):
    # 2000 scenes; `share` of them are clips placed at 10:00-10:09, the rest elsewhere.
    rng = np.random.default_rng(5)
    inside = round(2000 * share)
    video = make_video()
    rows = []
    for index in range(2000):
        snippet = None
        if index < inside:
            snippet = make_snippet(10 * 60 + index % 10, video=video, meridiem=Meridiem.AM)
        vector = rng.normal(size=512)
        rows.append(SceneEmbedding(video=video, second=float(index), snippet=snippet, model_name=_model_name(),
                                   embedding=(vector / np.linalg.norm(vector)).tolist()))  # fmt: skip
    SceneEmbedding.objects.bulk_create(rows)
    Video.objects.filter(pk=video.pk).update(shot_boundaries=[float(i) + 0.5 for i in range(2000)])

    body = _search(q="anything", minute_from="10:00", minute_to="10:09", page_size=min(20, inside))

    assert len(body["results"]) == min(20, inside), "the iterative index scan keeps looking"
    assert all(hit["snippet"] and "10:00" <= hit["snippet"]["minute"] <= "10:09" for hit in body["results"])


def test_a_filter_too_selective_for_the_index_scan_still_fills_the_page():
    # 5 of 2000 scenes are tagged, and an index scan may look at only 50 rows before it gives up:
    # either the planner starts from the few tagged rows, or the exact fallback finds them.
    rng = np.random.default_rng(8)
    video = make_video()
    scenes = SceneEmbedding.objects.bulk_create(
        SceneEmbedding(video=video, second=float(index), model_name=_model_name(),
                       embedding=(lambda v: (v / np.linalg.norm(v)).tolist())(rng.normal(size=512)))
        for index in range(2000)
    )  # fmt: skip
    Video.objects.filter(pk=video.pk).update(shot_boundaries=[float(i) + 0.5 for i in range(2000)])
    concept = Concept.objects.create(name="a test-only lighthouse", prompt="a photo of a lighthouse")
    tagged = {scene.pk for scene in scenes[::400]}
    FrameTag.objects.bulk_create(FrameTag(scene_id=pk, concept=concept, score=0.5) for pk in tagged)
    with connection.cursor() as cursor:
        cursor.execute("SET hnsw.max_scan_tuples = 50")
        cursor.execute("SET enable_seqscan = off")
    try:
        body = _search(q="anything", tag="a test-only lighthouse", page_size=10)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET hnsw.max_scan_tuples")
            cursor.execute("RESET enable_seqscan")

    assert {hit["scene_id"] for hit in body["results"]} == tagged
    scores = [hit["score"] for hit in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_filters_by_tag():
    rng = np.random.default_rng(9)
    clock_tower = _scene(rng.normal(size=512), second=1.0)
    _scene(rng.normal(size=512), second=2.0)
    concept = Concept.objects.create(name="a test-only tower", prompt="a photo of a clock tower")
    FrameTag.objects.create(scene=clock_tower, concept=concept, score=0.9)

    assert [hit["scene_id"] for hit in _search(q="x", tag="a test-only tower")["results"]] == [clock_tower.pk]
    assert _search(q="x", tag="no such concept")["results"] == []


def test_filters_by_am_pm_video_and_duration():
    rng = np.random.default_rng(6)
    short, long = make_video(duration_seconds=30), make_video(duration_seconds=3600)
    morning = make_snippet(9 * 60, video=short, meridiem=Meridiem.AM)
    evening = make_snippet(21 * 60, video=long, meridiem=Meridiem.PM)
    _scene(rng.normal(size=512), video=short, snippet=morning)
    _scene(rng.normal(size=512), video=long, snippet=evening)

    def videos(**filters) -> set[int]:
        return {hit["video"]["id"] for hit in _search(q="x", **filters)["results"]}

    assert videos(meridiem="pm") == {long.pk}
    assert videos(video=short.pk) == {short.pk}
    assert videos(max_duration=60) == {short.pk}
    assert videos(min_duration=60) == {long.pk}
    assert videos(minute_from="20:00", minute_to="22:00") == {long.pk}
    assert videos(minute_from="23:00", minute_to="09:30") == {short.pk}, "a range may wrap past midnight"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "detail"),
        ({"q": ""}, "detail"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"q": "x", "page": 0}, "page"),
        ({"q": "x", "page_size": 1000}, "page_size"),
        ({"q": "x", "minute_from": "10:00"}, "minute_to"),
        ({"q": "x", "minute_from": "25:00", "minute_to": "10:00"}, "minute_from"),
        ({"q": "x", "meridiem": "noon"}, "meridiem"),
        ({"frame": 999999}, "frame"),
    ],
)
def test_bad_queries_are_clear_errors(params, field):
    response = APIClient().get("/api/search", params)
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_an_upload_that_is_not_an_image_is_refused():
    response = APIClient().post("/api/search", {"image": io.BytesIO(b"%PDF-1.4 not an image")}, format="multipart")
    assert response.status_code == 400
    assert "not an image" in response.json()["image"][0]


def test_an_oversized_upload_is_refused(settings):
    settings.SEARCH_MAX_UPLOAD_MB = 1
    big = io.BytesIO(b"\x89PNG" + b"\x00" * (1024 * 1024 + 10))
    response = APIClient().post("/api/search", {"image": big}, format="multipart")
    assert response.status_code == 400
    assert "at most 1 MB" in response.json()["image"][0]


def test_without_a_loadable_clip_when_clip_is_required_search_says_so(settings, tmp_path):
    settings.SEARCH_EMBEDDER = "clip"
    settings.CLIP_MODEL = TINY_MODEL
    settings.CLIP_CHECKPOINT = str(tmp_path / "missing.pt")
    response = APIClient().get("/api/search", {"q": "a clock"})
    assert response.status_code == 503
    assert "CLIP_CHECKPOINT" in response.json()["detail"]


def test_without_a_loadable_clip_the_offline_embedder_serves_and_says_why(settings, tmp_path):
    settings.CLIP_MODEL = TINY_MODEL
    settings.CLIP_CHECKPOINT = str(tmp_path / "missing.pt")
    body = _search(q="a clock")
    assert body["model"] == "efficientnet-lite0/imagenet"
    assert body["matched"][0]["term"] == "clock"
    health = APIClient().get("/healthz").json()["search"]
    assert health["kind"] == "imagenet" and "missing.pt" in health["why"]
    assert "open-vocabulary" in health["other_would_add"]


def test_a_local_checkpoint_loads_through_the_real_path(tmp_path):
    import torch

    tiny = load_embedder(TINY_MODEL, None, None, "cpu")
    checkpoint = tmp_path / "tiny.pt"
    torch.save(tiny.model.state_dict(), checkpoint)

    loaded = load_embedder(TINY_MODEL, None, str(checkpoint), "cpu")

    image = np.random.default_rng(7).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    assert np.allclose(loaded.embed_images([image]), tiny.embed_images([image]), atol=1e-5)
    assert loaded.name == f"{TINY_MODEL}/file:tiny.pt"


def test_a_model_that_cannot_load_is_not_tried_again(tmp_path):
    from pipeline.search.embedder import EmbedderUnavailable

    missing = str(tmp_path / "missing.pt")
    with pytest.raises(EmbedderUnavailable) as first:
        load_embedder(TINY_MODEL, None, missing, "cpu")
    with pytest.raises(EmbedderUnavailable) as second:
        load_embedder(TINY_MODEL, None, missing, "cpu")
    assert second.value is first.value


def test_a_rescan_that_changes_the_shots_changes_how_results_are_collapsed():
    from catalog.services import scan_store
    from pipeline.scan.stage import ScanResult

    rng = np.random.default_rng(12)
    video = make_video()
    base = rng.normal(size=512)
    for second in (1.0, 5.0):
        _scene(base + 0.01 * rng.normal(size=512), video=video, second=second)
    assert len(_search(q="x")["results"]) == 1, "one shot: one result"

    scan_store(video=video, result=ScanResult(frames=10, seconds_scanned=6.0, shot_boundaries=(3.0,), sightings=()))

    assert len(_search(q="x")["results"]) == 2, "the cut at 3 s makes two shots"
