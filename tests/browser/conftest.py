"""Browser tests: Debian's Chromium driven by Playwright, against the app served from this process (`site`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class WatchedBrowser:
    """A Playwright browser whose pages are watched for what the Content-Security-Policy blocks:
    an inline script, style or event handler, or a resource from elsewhere. Chromium reports each
    on the console; a test that saw one fails (see `browser`)."""

    def __init__(self, browser: object) -> None:
        self._browser = browser
        self.csp_violations: list[str] = []
        self._expected: tuple[str, ...] = ()

    def expect_blocked(self, *urls: str) -> None:
        """Loads from these addresses are meant to be blocked: the test fails only for others."""
        self._expected += urls

    def unexpected_violations(self) -> list[str]:
        return [text for text in self.csp_violations if not any(url in text for url in self._expected)]

    def new_page(self, **options: object) -> object:
        return self._watched(self._browser.new_page(**options))

    def new_context(self, **options: object) -> object:
        context = self._browser.new_context(**options)
        context.on("page", self._watched)
        return context

    def _watched(self, page: object) -> object:
        def on_console(message: object) -> None:
            if "Content Security Policy" in message.text:
                self.csp_violations.append(f"{page.url}: {message.text}")

        page.on("console", on_console)
        return page

    def __getattr__(self, name: str) -> object:
        return getattr(self._browser, name)


@pytest.fixture
def browser(monkeypatch) -> Iterator[object]:
    # Playwright's sync API keeps an event loop in this thread; the test's own database calls
    # (setup, teardown) are plain synchronous code all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"]
        )
        watched = WatchedBrowser(launched)
        yield watched
        launched.close()
    blocked = watched.unexpected_violations()
    assert not blocked, "the Content-Security-Policy blocked part of a page:\n" + "\n".join(blocked)
