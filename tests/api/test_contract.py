"""The API keeps its contract. Schemathesis reads /api/schema/, generates requests for every
operation (valid ones, and invalid ones that must be refused), sends them to the app in process
as a logged-in curator, and checks each answer: never a server error, only status codes and
content types the schema declares, and bodies that match the declared schemas."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import schemathesis
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catalog.models import ClockSighting, Concept, FrameTag, SceneEmbedding, Source, Video
from pipeline.search.embedder import TINY_MODEL, load_embedder
from tests.support import make_snippet, make_video

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            # The same requests on every run: a failure here is reproducible, never flaky.
            "deterministic": True,
            "database": "none",
            # Per operation and phase; about a minute for the whole API on two cores.
            "max-examples": 40,
            # The test logs in itself (below) instead of sending generated credentials.
            "with-security-parameters": False,
        },
        # Stateful runs chain operations through links, which the schema doesn't declare.
        "phases": {"stateful": {"enabled": False}},
    }
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Loaded from the app itself, as a client would: GET /api/schema/.
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler(), config=CONFIG)


@pytest.fixture
def curator(db, client) -> Iterator[dict]:
    """A seeded catalog, and the session cookie and CSRF token of a logged-in curator. (The rate
    limits are generous in tests, see tests/conftest.py: hundreds of searches run in a minute.)"""
    ids = _seed_catalog()
    client.force_login(User.objects.create_user("curator", password="x" * 12, is_staff=True))
    token = get_random_string(32)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    # Like Django's test client: the app shares the test's connection (and its transaction),
    # so nothing may close it between requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {
            "cookies": {django_settings.SESSION_COOKIE_NAME: session, django_settings.CSRF_COOKIE_NAME: token},
            "headers": {"X-CSRFToken": token},
            "ids": ids,
        }
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _seed_catalog() -> dict[str, list[int]]:
    """Some of everything, so that answers have bodies to check; the ids of what paths can name."""
    source = Source.objects.create(kind=Source.Kind.URL, locator="https://example.org/clocks")
    snippets = [make_snippet(minute, video=make_video(source=source)) for minute in (0, 1, 570, 1439)]
    failed = make_video(status=Video.Status.FAILED, error="the download stopped", source=source)
    make_video(status=Video.Status.PENDING)
    ClockSighting.objects.create(video=failed, start_seconds=1, end_seconds=5, confidence=0.5, kind="analog")
    concept, _ = Concept.objects.get_or_create(name="a train station")
    model_name = load_embedder(TINY_MODEL, None, None, django_settings.DEVICE).name
    rng = np.random.default_rng(7)
    for snippet in snippets:
        vector = rng.normal(size=512)
        vector /= np.linalg.norm(vector)
        scene = SceneEmbedding.objects.create(video=snippet.video, snippet=snippet, second=12.0,
                                              model_name=model_name, embedding=vector.tolist())  # fmt: skip
        FrameTag.objects.create(scene=scene, concept=concept, score=0.8)
    return {
        "videos": list(Video.objects.values_list("pk", flat=True)),
        "sightings": list(ClockSighting.objects.values_list("pk", flat=True)),
    }


def _name_seeded_objects(case: schemathesis.Case, ids: dict[str, list[int]]) -> None:
    """Generated ids almost never name a stored object, so every answer would be a 404. Half of
    the valid ones are mapped onto the seeded objects instead; the rest still test the 404."""
    generated = (case.path_parameters or {}).get("id")
    if not isinstance(generated, int) or generated % 2 or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return
    stored = ids["sightings"] if case.path.startswith("/api/sightings/") else ids["videos"]
    case.path_parameters["id"] = stored[generated // 2 % len(stored)]


@schema.parametrize()
# The catalog is seeded once per operation; its examples share it, and what one writes (a review,
# a source) the next ones see.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_api_operation_answers_as_its_schema_says(case, curator):
    _name_seeded_objects(case, curator["ids"])
    case.call_and_validate(cookies=curator["cookies"], headers=curator["headers"], checks=CHECKS)
