"""The pages no other browser test opens (the log-in page, the admin, the API's docs and its
browsable pages) work in Chromium under the Content-Security-Policy: the `browser` fixture fails
a test in which the policy blocked anything."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.support import make_snippet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def app_static(settings) -> None:
    """The apps' static files too (the admin's, Swagger UI's, Redoc's): `site` serves only the
    project's own folder, and these pages need theirs. Asked for before `site`, which builds the app."""
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True


def test_the_admin_works_under_the_content_security_policy(app_static, site, browser):
    User.objects.create_superuser("admin", password="a long pass phrase")
    snippet = make_snippet(10 * 60 + 42)
    page = browser.new_page()

    page.goto(f"{site}/admin/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("a long pass phrase")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site}/admin/")
    assert page.locator("#task-health").is_visible()

    page.goto(f"{site}/admin/catalog/video/")
    page.locator("#action-toggle").check()  # the changelist's script runs
    assert page.locator("input.action-select:checked").count() == 1

    page.goto(f"{site}/admin/catalog/video/{snippet.video_id}/change/")
    with page.expect_popup() as popup:  # the raw-id lookup opens its picker with the admin's script
        page.locator("#lookup_id_source").click()
    popup.value.wait_for_load_state()
    assert "/admin/catalog/source/" in popup.value.url


def test_the_api_docs_and_browsable_api_work_under_the_content_security_policy(app_static, site, browser):
    page = browser.new_page()

    page.goto(f"{site}/api/docs/")
    page.locator(".opblock-summary-path", has_text="/api/now").first.wait_for()

    # Redoc asks for web fonts and its logo from other sites: the policy blocks those on purpose
    # (nothing is loaded from elsewhere; offline it could not be anyway), and Redoc shows without them.
    browser.expect_blocked("https://fonts.googleapis.com/", "https://cdn.redoc.ly/")
    page.goto(f"{site}/api/redoc/")
    page.get_by_text("/api/now", exact=False).first.wait_for()

    page.goto(f"{site}/api/minutes/")  # the browsable API, as a browser asks for HTML
    assert page.locator(".response-info").is_visible()

    page.goto(f"{site}/accounts/login/")
    assert page.get_by_role("button", name="Log in").is_visible()
