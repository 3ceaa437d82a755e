import numpy as np
import pytest
from django.db import connection

from catalog import selectors
from catalog.models import SceneEmbedding
from tests.support import make_video

pytestmark = pytest.mark.django_db


def _store_scenes(count: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    video = make_video()
    vectors = rng.normal(size=(count, 512)).astype(np.float32)
    SceneEmbedding.objects.bulk_create(
        SceneEmbedding(video=video, second=float(i), model_name="test-clip", embedding=vector.tolist())
        for i, vector in enumerate(vectors)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_sceneembedding")
    return vectors


@pytest.fixture
def scenes() -> np.ndarray:
    return _store_scenes(400)


def test_the_nearest_neighbour_query_uses_the_hnsw_index():
    # Enough rows that an index scan beats reading the table; the planner decides, not us.
    scenes = _store_scenes(2000)
    query = selectors.nearest_scenes(vector=scenes[42].tolist(), model_name="test-clip", limit=5)

    plan = query.explain()

    assert "embedding_hnsw_cosine" in plan, plan


def test_the_nearest_neighbour_of_a_stored_vector_is_itself(scenes):
    target = scenes[321] + np.float32(0.001)
    results = list(selectors.nearest_scenes(vector=target.tolist(), model_name="test-clip", limit=3))
    assert results[0].second == 321.0
    assert results[0].distance == pytest.approx(0.0, abs=1e-3)
    assert results[0].distance <= results[1].distance <= results[2].distance


def test_vectors_of_another_model_are_never_mixed_in(scenes):
    results = selectors.nearest_scenes(vector=scenes[0].tolist(), model_name="another-model", limit=5)
    assert list(results) == []
