"""Security settings and headers: Django's deployment check passes in production, HTTPS is enforced
behind a TLS proxy (and only there), every answer carries a Content-Security-Policy and the usual
headers, request bodies are capped, and secrets come from the environment alone."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.support import PROJECT_ROOT, project_env

PRODUCTION = {
    "DEBUG": "0",
    "ALLOWED_HOSTS": "clock.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://clock.example.org",
    "BEHIND_TLS_PROXY": "1",
}


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=project_env(CLOCKWEB_VAR_DIR=str(tmp_path), **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_the_deployment_check_passes_with_production_settings(tmp_path):
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING",
                     SECRET_KEY=secrets.token_urlsafe(50), **PRODUCTION)  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "env", [PRODUCTION, {"ALLOWED_HOSTS": "clock.example.org"}, {"BEHIND_TLS_PROXY": "1"}], ids=["all", "hosts", "tls"]
)
def test_a_site_served_to_others_refuses_to_start_without_a_secret_key(tmp_path, env):
    result = _manage(tmp_path, "check", **env)

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "takes its secret key from the environment only" in result.stderr
    assert not (tmp_path / "secret_key").exists(), "no key was generated in its place"


@pytest.mark.slow
def test_a_machine_that_serves_only_itself_keeps_a_generated_key(tmp_path):
    result = _manage(tmp_path, "check", ALLOWED_HOSTS="localhost,127.0.0.1")

    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "secret_key").read_text().strip()) >= 50


# What a committed secret looks like: well-known key and token formats, anywhere...
KNOWN_SECRET = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|sk_live_[0-9A-Za-z]{16,}|AIza[0-9A-Za-z_\-]{35}|django-(?:insecure)-"
)
# ...and, outside the tests (whose fake credentials are inputs), a secret-named setting given a
# value rather than read from somewhere, or a password written into a URL.
ASSIGNED_SECRET = re.compile(
    r"""\b(SECRET_KEY|[A-Z_]*PASSWORD|[A-Z_]*TOKEN|API_KEY)\b["']?\s*[:=]\s*["']?(?![$({?]|settings\.|_secret_key)"""
    r"""[^\s"',)]{4,}"""
)
URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?!\$\{)[^/\s@'\"]+@")
# (file, what matched): placeholders on purpose, and why.
NOT_SECRETS = {
    # A throwaway key for collectstatic while the image is built; the image runs with the environment's.
    ("Dockerfile", "SECRET_KEY=collectstatic-only"),
    # The README's example of a DATABASE_URL.
    ("README.md", "postgresql://user:pw@"),
    # The example the real Secret is made from; kustomization.yaml does not apply it.
    ("deploy/kubernetes/secret.example.yaml", "SECRET_KEY: change-me-to-50-random-characters"),
    ("deploy/kubernetes/secret.example.yaml", "postgresql://clockweb:password@"),
}


def test_no_secret_is_written_into_the_repository():
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()  # fmt: skip
    assert "clockweb/settings.py" in listed
    found = []
    for name in listed:
        path = PROJECT_ROOT / name
        try:
            text = path.read_text()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        patterns = [KNOWN_SECRET] if name.startswith("tests/") else [KNOWN_SECRET, ASSIGNED_SECRET, URL_PASSWORD]
        for pattern in patterns:
            found += [(name, m[0]) for m in pattern.finditer(text) if (name, m[0]) not in NOT_SECRETS]
    assert found == []


def _headers_of(response: object) -> dict[str, str]:
    return {
        name: response.get(name)
        for name in ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy")
    }


SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _policy(response: object) -> dict[str, list[str]]:
    directives = [part.split() for part in response["Content-Security-Policy"].split(";")]
    return {name: sources for name, *sources in directives}


@pytest.mark.django_db
def test_pages_run_only_the_sites_own_scripts_and_styles(client):
    response = client.get("/minutes/")

    assert response.status_code == 200
    assert _headers_of(response) == SAFE_HEADERS
    policy = _policy(response)
    assert policy["script-src"] == policy["style-src"] == policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == policy["base-uri"] == ["'self'"]


@pytest.mark.django_db
def test_the_api_answers_with_the_same_headers_and_scripts_from_the_site_only(client):
    for path in ("/api/minutes/", "/api/now", "/api/docs/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert _headers_of(response) == SAFE_HEADERS, path
        policy = _policy(response)
        assert policy["script-src"] == ["'self'"], path
        # Swagger UI, Redoc and DRF's browsable pages style themselves inline (see settings.SECURE_CSP_API).
        assert policy["style-src"] == ["'self'", "'unsafe-inline'"], path


@pytest.mark.django_db
def test_static_files_carry_the_headers_too(settings):
    settings.WHITENOISE_USE_FINDERS = True  # serve from the source folders, as no collectstatic ran

    response = Client().get("/static/css/site.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "Content-Security-Policy" in response


def test_no_template_has_an_inline_script_style_or_event_handler():
    """What the policy would block: the browser tests catch it at run time, this at a glance."""
    inline = re.compile(
        r"<script(?![^>]*\b(src|type=\"application/json\")\b)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.I
    )
    found = [
        (str(path.relative_to(PROJECT_ROOT)), match[0])
        for path in (PROJECT_ROOT / "templates").rglob("*.html")
        for match in inline.finditer(path.read_text())
    ]
    assert found == []


@pytest.mark.django_db
def test_plain_http_on_this_machine_works_without_https(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response
    assert response.cookies["csrftoken"]["secure"] == "", "a secure cookie would never come back over HTTP"


@pytest.mark.django_db
def test_behind_a_tls_proxy_https_is_enforced_except_for_health_probes(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.CSRF_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = True
    client = Client()

    assert client.get("/minutes/").headers["Location"] == "https://testserver/minutes/"
    assert client.get("/healthz").status_code in {200, 503}, "a probe asks over plain HTTP"
    secure = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert secure.cookies["csrftoken"]["secure"] is True


@pytest.mark.django_db
def test_a_json_body_over_the_limit_is_refused_before_it_is_read(client, settings):
    body = '{"sources": ["' + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"]}'

    response = client.post("/api/ingest/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["detail"] == "The request body is 2.5 MB; a request body may be at most 2.5 MB."


@pytest.mark.django_db
def test_an_upload_over_the_limit_is_refused_with_a_413(client, settings):
    settings.SEARCH_MAX_UPLOAD_MB = 1
    settings.UPLOAD_MAX_BODY_SIZE = 2 * 1024 * 1024
    picture = b"\x89PNG" + b"\0" * (3 * 1024 * 1024)

    response = client.post("/api/search", {"image": SimpleUploadedFile("big.png", picture)})

    assert response.status_code == 413
    assert response.json()["detail"].startswith("The request body is 3.0 MB; an upload may be at most 2.0 MB")


@pytest.mark.django_db
def test_a_form_over_the_limit_is_refused_in_words(client, settings):
    body = "username=" + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    response = client.post("/accounts/login/", body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert b"a request body may be at most 2.5 MB" in response.content
