"""Who may write. Every address the URL resolver knows (pages, admin, API) is sent every write
method by an anonymous visitor and by a logged-in user who isn't staff: each is refused (401/403,
405, or a redirect to a log-in page) and nothing is written, except the few that are public on
purpose, listed below with why. Logged-in writes need their CSRF token."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import URLPattern, URLResolver, get_resolver
from PIL import Image

from catalog.models import ClockSighting, Concept, SceneEmbedding, Snippet, Source, TimeReading, Video
from tests.support import make_video

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Every object the paths name gets this id, so that a write that got through would change it.
ID = 424242

# (path pattern, method): public on purpose, and why.
PUBLIC_WRITES = {
    # Searching by picture: the request only carries the image; a search writes nothing.
    ("api/search", "POST"),
    # Logging in is how one stops being anonymous (Django's form views take PUT as POST).
    *((route, method) for route in ("accounts/login/", "admin/login/") for method in ("POST", "PUT")),
    # Logging out ends the visitor's own session, if any; the admin's sends anyone not logged in
    # to its index, whatever the method.
    ("accounts/logout/", "POST"),
    *(("admin/logout/", method) for method in WRITE_METHODS),
    # Django's "view on site" link: reads the object's address and redirects (or 404s); any method.
    *(("admin/r/<path:content_type_id>/<path:object_id>/", method) for method in WRITE_METHODS),
}

# Tables that hold no catalog data: the visitor's own session, and the cache (rate-limit counts).
NOT_DATA = {"django_session", "clockweb_cache"}


def _routes(patterns: list, prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            assert isinstance(pattern, URLPattern)
            yield prefix + str(pattern.pattern)


ROUTES = sorted(set(_routes(get_resolver().url_patterns)))


def _address(route: str) -> str:
    """A concrete path for a route: every parameter names the seeded objects (or a value the view takes)."""
    samples = {"hhmm": "10:42", "name": "crop", "unix_minute": "0", "index": "0", "url": "anything/"}
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: samples.get(m[1], str(ID)), route)
    # The admin's regular expressions: an app's index, and its catch-all.
    path = re.sub(r"\(\?P<(\w+)>([^)]*)\)", lambda m: samples.get(m[1]) or m[2].split("|")[0], path)
    return "/" + path.replace("^", "").replace("$", "")


@pytest.fixture
def catalog() -> None:
    """One of each object, all with the same id, so that every path names a real one."""
    source = Source.objects.create(pk=ID, kind=Source.Kind.URL, locator="https://example.org/clocks")
    video = make_video(pk=ID, source=source, status=Video.Status.FAILED, error="stopped")
    sighting = ClockSighting.objects.create(pk=ID, video=video, start_seconds=1, end_seconds=9, confidence=0.4)
    reading = TimeReading.objects.create(pk=ID, sighting=sighting, hour=10, minute=40, meridiem="am", confidence=0.4,
                                         method=TimeReading.Method.ANALOG_MODEL, shown_at_seconds=2)  # fmt: skip
    Snippet.objects.create(pk=ID, video=video, reading=reading, start_seconds=0, end_seconds=10, minute_of_day=640)
    SceneEmbedding.objects.create(pk=ID, video=video, second=1, model_name="m", embedding=[0.1] * 512)
    Concept.objects.create(pk=ID, name="a clock tower seen by the access test")
    User.objects.create_user("someone", pk=ID, password="an old pass phrase")


def _fingerprint() -> dict[str, str]:
    """A digest of every table's rows: any insert, update or delete changes it."""
    tables = sorted(set(connection.introspection.table_names()) - NOT_DATA)
    digest = "SELECT %s, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"
    query = " UNION ALL ".join(digest.format(connection.ops.quote_name(table)) for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(query, tables)
        return dict(cursor.fetchall())


def _body() -> bytes:
    """A body that a write endpoint would act on, were it let through: sources to ingest, a time
    for a review, an image to search by, a user name and password to log in with."""
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(picture, "PNG")
    picture.seek(0)
    picture.name = "clock.png"
    fields = {"sources": "ytsearch1:station clock", "time": "10:42", "image": picture,
              "username": "someone", "password": "a wrong pass phrase", "title": "Changed"}  # fmt: skip
    return encode_multipart(BOUNDARY, fields)


def _refused(response: object) -> bool:
    if response.status_code in {401, 403, 405}:
        return True
    login_pages = ("/accounts/login/", "/admin/login/")
    return response.status_code == 302 and response["Location"].startswith(login_pages)


def _write_answers(client: Client, user: User | None = None) -> dict[tuple[str, str], object]:
    """Send every write method to every route; fail on anything written. Returns the answers."""
    answers = {}
    for route in ROUTES:
        for method in WRITE_METHODS:
            if user is not None:
                client.force_login(user)  # again, after a log-out
            before = _fingerprint()
            response = client.generic(method, _address(route), _body(), content_type=MULTIPART_CONTENT)
            assert _fingerprint() == before, f"{method} {_address(route)} wrote to the database"
            answers[(route, method)] = response
    return answers


def test_the_routes_are_found_with_the_api_pages_and_admin_among_them():
    assert {"api/ingest/", "api/sightings/<int:pk>/review/", "ingest/", "admin/catalog/video/add/"} <= set(ROUTES)
    assert len(ROUTES) > 100


def test_an_anonymous_visitor_can_write_nowhere_but_the_public_forms(catalog):
    answers = _write_answers(Client())

    accepted = {key for key, response in answers.items() if not _refused(response)}
    assert accepted <= PUBLIC_WRITES, f"writable without logging in: {sorted(accepted - PUBLIC_WRITES)}"
    assert answers[("api/ingest/", "POST")].status_code == 403
    assert answers[("admin/catalog/video/<path:object_id>/delete/", "POST")]["Location"].startswith("/admin/login/")
    assert answers[("api/search", "POST")].status_code == 200, "search by picture stays public"


def test_a_user_who_is_not_staff_can_write_nowhere_but_the_public_forms(catalog):
    visitor = User.objects.create_user("visitor", password="a long pass phrase")

    answers = _write_answers(Client(), visitor)

    accepted = {key for key, response in answers.items() if not _refused(response)}
    assert accepted <= PUBLIC_WRITES, f"writable by any logged-in user: {sorted(accepted - PUBLIC_WRITES)}"
    for route in ("api/ingest/", "api/videos/<int:pk>/retry/", "api/sightings/<int:pk>/review/"):
        assert answers[(route, "POST")].status_code == 403, route


@pytest.mark.parametrize("path", ["/api/sources/", "/review/", "/ingest/", "/review/export.zip"])
def test_staff_pages_and_lists_are_refused_to_users_who_are_not_staff(client, path):
    client.force_login(User.objects.create_user("visitor"))

    response = client.get(path)

    assert response.status_code == 403 if path.startswith("/api/") else response["Location"].startswith("/accounts/")


def test_a_logged_in_write_needs_its_csrf_token(catalog):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_user("curator", is_staff=True))
    review = f"/api/sightings/{ID}/review/"

    without = client.post(review, {"time": "10:42"}, content_type="application/json")

    assert without.status_code == 403
    assert "CSRF" in without.json()["detail"]
    assert not TimeReading.objects.get(pk=ID).is_verified
    client.get("/")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    with_token = client.post(review, {"time": "10:42"}, content_type="application/json", headers={"X-CSRFToken": token})
    assert with_token.status_code == 200
    assert TimeReading.objects.get(pk=ID).is_verified


def test_logging_out_needs_the_csrf_token_too(client):
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_user("curator", is_staff=True))

    assert client.post("/accounts/logout/").status_code == 403
    assert client.get("/api/sources/").status_code == 200, "still logged in"
