"""Rate limits: search and ingest are limited per user (or client address) at the rates the
settings name, counted in the shared cache; the live clock's /api/now never is."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.test import APIClient

from catalog.models import Source
from tests.support import PROJECT_ROOT, project_env

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_earlier_counts() -> None:
    # Browser tests commit what they write, the cache table included.
    cache.clear()


def test_the_search_after_the_limit_gets_a_429_that_says_when_to_come_back(settings):
    settings.SEARCH_RATE = "3/min"
    client = APIClient()

    answers = [client.get("/api/search", {"q": "a station clock"}) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith("Request was throttled. Expected available in")
    other_client = APIClient(REMOTE_ADDR="192.0.2.7")
    assert other_client.get("/api/search", {"q": "a station clock"}).status_code == 200, "counted per client"


def test_searching_by_picture_counts_toward_the_same_limit(settings):
    settings.SEARCH_RATE = "1/min"
    client = APIClient()

    assert client.get("/api/search", {"q": "clock"}).status_code == 200
    assert client.post("/api/search?q=clock", {}, format="multipart").status_code == 429


def test_the_ingest_after_the_limit_gets_a_429_and_records_nothing(settings):
    settings.INGEST_RATE = "2/hour"
    client = APIClient()
    client.force_authenticate(User.objects.create_user("curator", is_staff=True))

    answers = [client.post("/api/ingest/", {"sources": [f"ytsearch1:clock {n}"]}, format="json") for n in range(3)]

    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert 3000 < int(answers[-1]["Retry-After"]) <= 3600
    assert Source.objects.count() == 2


def test_the_limit_counts_a_user_across_addresses(settings):
    settings.INGEST_RATE = "1/hour"
    curator = User.objects.create_user("curator", is_staff=True)
    first, second = APIClient(REMOTE_ADDR="192.0.2.1"), APIClient(REMOTE_ADDR="192.0.2.2")
    first.force_authenticate(curator)
    second.force_authenticate(curator)

    assert first.post("/api/ingest/", {"sources": ["ytsearch1:clock"]}, format="json").status_code == 202
    assert second.post("/api/ingest/", {"sources": ["ytsearch1:clocks"]}, format="json").status_code == 429


def test_the_live_clock_is_never_rate_limited(settings):
    settings.SEARCH_RATE = "1/min"
    settings.INGEST_RATE = "1/hour"
    client = APIClient()

    statuses = {client.get("/api/now", {"tz": "Europe/Paris"}).status_code for _ in range(50)}

    assert statuses == {200}


def test_behind_a_proxy_anonymous_clients_are_told_apart_by_their_forwarded_address(settings):
    settings.SEARCH_RATE = "1/min"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")  # nginx: every request comes from it

    def search(client_address: str) -> int:
        return proxy.get("/api/search", {"q": "clock"}, HTTP_X_FORWARDED_FOR=client_address).status_code

    assert search("198.51.100.1") == 200
    assert search("198.51.100.2") == 200
    assert search("203.0.113.9, 198.51.100.1") == 429, "a forged first entry changes nothing"


@pytest.mark.parametrize("rate", ["fast", "60", "60/fortnight", "0/min", "-1/min"])
def test_a_rate_that_is_not_one_is_refused_at_start(tmp_path, rate):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=PROJECT_ROOT,
        env=project_env(DJANGO_SETTINGS_MODULE="clockweb.settings", CLOCKWEB_VAR_DIR=str(tmp_path), SEARCH_RATE=rate),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"SEARCH_RATE={rate!r} is not a rate" in result.stderr
