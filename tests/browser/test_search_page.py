"""The search page in Chromium: type a query, see scenes, play one in place."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.models import SceneEmbedding
from pipeline.search.embedder import TINY_MODEL, load_embedder
from tests.support import make_playable_snippet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_text_search_shows_scenes_and_plays_one(site, browser, tmp_path, settings):
    snippet = make_playable_snippet(10 * 60 + 42, tmp_path, seconds=4.0)
    name = load_embedder(TINY_MODEL, None, None, settings.DEVICE).name
    rng = np.random.default_rng(8)
    for index in range(3):
        vector = rng.normal(size=512)
        SceneEmbedding.objects.create(video=snippet.video, second=float(index), snippet=snippet, model_name=name,
                                      embedding=(vector / np.linalg.norm(vector)).tolist())  # fmt: skip

    page = browser.new_page()
    page.goto(f"{site}/search/")
    page.get_by_label("What the scene shows").fill("someone checks a wristwatch")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector(".results li")
    # Three frames of one shot are one result.
    assert page.locator(".results li").count() == 1
    assert "10:42" in page.locator(".results li").first.inner_text()

    page.locator(".results li button").first.click()
    playing = "() => { const v = document.querySelector('.player-dialog video'); return v && v.currentTime > 0.2; }"
    page.wait_for_function(playing)
    assert page.locator(".player-dialog").is_visible()

    page.get_by_role("button", name="Close").click()
    page.get_by_label("What the scene shows").fill("")
    page.get_by_role("button", name="Search").click()
    assert "Type what the scene shows" in page.locator(".search-status").inner_text()


def test_offline_the_page_says_so_shows_what_words_matched_and_names_the_closest_concepts(site, browser, tmp_path,
                                                                                          settings):  # fmt: skip
    from catalog.models import Concept, FrameTag
    from pipeline.search.imagenet import IMAGENET_DIMENSIONS, IMAGENET_EMBEDDER

    settings.SEARCH_EMBEDDER = "imagenet"
    snippet = make_playable_snippet(7 * 60 + 5, tmp_path, seconds=4.0)
    vector = np.random.default_rng(9).normal(size=IMAGENET_DIMENSIONS)
    scene = SceneEmbedding.objects.create(
        video=snippet.video, second=1.0, snippet=snippet, model_name=IMAGENET_EMBEDDER,
        imagenet_embedding=(vector / np.linalg.norm(vector)).tolist(),
    )  # fmt: skip
    malamute = Concept.objects.create(name="malamute", source=Concept.Source.IMAGENET)
    FrameTag.objects.create(scene=scene, concept=malamute, score=0.8)

    page = browser.new_page()
    page.goto(f"{site}/search/")
    assert "Searching offline" in page.locator(".search-embedder").inner_text()
    page.get_by_label("What the scene shows").fill("dogs in the snow")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector(".results li")
    assert "7:05" in page.locator(".results li").first.inner_text()
    status = page.locator(".search-status").inner_text()
    assert "“dogs” → dog, " in status and "more" in status

    page.get_by_label("What the scene shows").fill("zxqvw")
    page.get_by_role("button", name="Search").click()
    page.wait_for_function("() => document.querySelector('.search-status').textContent.includes('no concept')")
    assert page.locator(".results li").count() == 0
    assert "closest concepts are" in page.locator(".search-status").inner_text()
