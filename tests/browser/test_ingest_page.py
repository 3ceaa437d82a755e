"""The ingest page in Chromium: a curator adds a loopback URL and watches a real django-q2 worker
download it, live; a cut download fails, is retried from the page and completes; refusals and
lost connections are shown, and hostile titles stay text."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from playwright.sync_api import expect

from catalog.models import Source, Video
from tests.support import PROJECT_ROOT, make_video, project_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
PASSWORD = "a long curator password"
# The worker does its work in seconds, but the machine running the tests may be busy.
WORKER_MS = 120_000


def _workers(tmp_path: Path, **env: str) -> subprocess.Popen:
    """A real django-q2 cluster on the test database, with the loopback server allowed."""
    params = connection.settings_dict
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=PROJECT_ROOT,
        env=project_env(
            DATABASE_URL=f"postgresql://{params['USER']}@/{params['NAME']}?host={params['HOST']}",
            CLOCKWEB_VAR_DIR=str(tmp_path / "var"),
            MEDIA_ROOT=str(settings.MEDIA_ROOT),
            INGEST_ALLOW_LOOPBACK="1",
            INGEST_SLEEP_REQUESTS="0",
            INGEST_RETRIES="0",
            INGEST_ARCHIVE=str(tmp_path / "archive.txt"),
            INGEST_WORK_DIR=str(tmp_path / "work"),
            # The chain goes on to scan and embed; the tiny CLIP model needs no download.
            CLIP_MODEL="clockweb-tiny-clip",
            CLIP_PRETRAINED="",
            Q_WORKERS="1",
            SECRET_KEY=settings.SECRET_KEY,  # tasks are signed with it
            **env,
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def stop_workers() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _log_in(browser: object, site: str) -> object:
    User.objects.create_user("curator", password=PASSWORD, is_staff=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{site}/ingest/")
    assert "/accounts/login/" in page.url, "the page is for curators"
    page.get_by_label("User name").fill("curator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site}/ingest/")
    # Gone after a reload: lets a test prove that what it saw came without one.
    page.evaluate("() => { window.notReloaded = true; }")
    return page


# Every status a job row showed, in order, as the page changed it.
_RECORD_STATUSES = """() => {
  window.statusesSeen = {};
  const note = (row) => {
    const seen = (window.statusesSeen[row.dataset.videoId] ||= []);
    if (seen.at(-1) !== row.dataset.status) seen.push(row.dataset.status);
  };
  new MutationObserver((changes) => {
    for (const change of changes) {
      const rows = change.type === "attributes" ? [change.target] : [...change.addedNodes];
      rows.filter((node) => node.matches && node.matches(".job")).forEach(note);
    }
  }).observe(document.getElementById("job-list"), {childList: true, subtree: true, attributes: true,
                                                   attributeFilter: ["data-status"]});
}"""


def test_ingest_a_loopback_url(site, browser, media_server, ingest_settings, stop_workers, tmp_path):
    size = (media_server.root / "long.mp4").stat().st_size
    # Slowed to take about six seconds, so that the page has a download in progress to show.
    stop_workers.append(_workers(tmp_path, INGEST_RATE_LIMIT_KB=str(max(1, size // 1024 // 6))))
    page = _log_in(browser, site)
    assert page.get_by_role("heading", name="Nothing ingested yet").is_visible()
    page.evaluate(_RECORD_STATUSES)

    url = media_server.url("long.mp4")
    page.get_by_label("Sources, one per line").fill(url)
    page.get_by_role("button", name="Add sources").click()

    source = page.locator(".source").filter(has_text=url)
    source.wait_for()
    assert "Added 1 source" in page.locator(".form-status").inner_text()
    assert page.get_by_label("Sources, one per line").input_value() == "", "the form is ready for more"
    assert not page.get_by_role("heading", name="Nothing ingested yet").is_visible()

    # Found by the worker, then downloading with a progress bar that moves.
    job = page.locator(".job").first
    job.wait_for(timeout=WORKER_MS)
    assert job.locator(".job-title").inner_text() == "long"
    moving = "() => { const bar = document.querySelector('.job[data-status=downloading] progress');" \
             " return bar !== null && bar.value > 0 && bar.value < 100; }"  # fmt: skip
    page.wait_for_function(moving, timeout=WORKER_MS)
    progress = job.get_by_role("progressbar", name="Download of long")
    assert progress.is_visible()
    assert " of " in job.locator(".job-detail").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "ingest-page-downloading.png"), full_page=True)

    done = "() => ['downloaded', 'processing', 'processed'].includes(document.querySelector('.job').dataset.status)"
    page.wait_for_function(done, timeout=WORKER_MS)
    assert not progress.is_visible()
    assert "1 video" in source.inner_text()
    assert page.evaluate("() => window.notReloaded") is True
    (video,) = Video.objects.all()
    seen = page.evaluate("() => window.statusesSeen")[str(video.pk)]
    assert "downloading" in seen and seen[-1] in {"downloaded", "processing", "processed"}, seen
    assert seen.index("downloading") < len(seen) - 1
    assert (Path(settings.MEDIA_ROOT) / Video.objects.get().file.name).exists()
    page.screenshot(path=str(SCREENSHOTS / "ingest-page.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SCREENSHOTS / "ingest-page-phone.png"), full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"


def test_a_failed_download_is_retried_from_the_page(site, browser, media_server, ingest_settings, stop_workers,
                                                    tmp_path):  # fmt: skip
    # The data request of the first download is cut half-way (1: the worker looks the URL up,
    # 2: the download looks it up again, 3: the data); the retry resumes the partial file.
    media_server.cuts["long.mp4"] = {3}
    stop_workers.append(_workers(tmp_path))
    page = _log_in(browser, site)
    page.evaluate(_RECORD_STATUSES)

    page.get_by_label("Sources, one per line").fill(f"{media_server.url('long.mp4')}\n{media_server.url('gone.mp4')}")
    page.get_by_role("button", name="Add sources").click()

    # A source that can't be looked up shows why.
    gone = page.locator(".source").filter(has_text="gone.mp4")
    gone.locator(".source-error").wait_for(timeout=WORKER_MS)
    assert "404" in gone.locator(".source-error").inner_text()

    failed = page.locator(".job[data-status=failed]")
    failed.wait_for(timeout=WORKER_MS)
    assert "kept to resume on retry" in failed.locator(".job-error").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "ingest-page-failed.png"), full_page=True)

    failed.get_by_role("button", name="Retry").click()

    job = page.locator(".job").first
    done = "() => ['downloaded', 'processing', 'processed'].includes(document.querySelector('.job').dataset.status)"
    page.wait_for_function(done, timeout=WORKER_MS)
    assert not job.get_by_role("button", name="Retry").is_visible()
    assert job.locator(".job-error").is_hidden()
    assert media_server.ranges_for("long.mp4")[-1].startswith("bytes="), "the retry resumed the partial file"
    (video,) = Video.objects.all()
    seen = page.evaluate("() => window.statusesSeen")[str(video.pk)]
    assert "failed" in seen and seen[-1] in {"downloaded", "processing", "processed"}, seen
    assert page.evaluate("() => window.notReloaded") is True


def test_refused_sources_are_listed_and_nothing_is_added(site, browser, ingest_settings):
    page = _log_in(browser, site)

    page.get_by_label("Sources, one per line").fill("file:///etc/passwd\n/etc/passwd")
    page.get_by_role("button", name="Add sources").click()

    alert = page.get_by_role("alert").filter(has_text="Nothing was added")
    alert.wait_for()
    text = alert.inner_text()
    assert "file:///etc/passwd: only http and https URLs can be fetched" in text
    assert "/etc/passwd: local files and folders can only be ingested from the command line" in text
    assert page.get_by_label("Sources, one per line").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Sources, one per line").input_value() == "file:///etc/passwd\n/etc/passwd"
    assert not Source.objects.exists()
    assert page.get_by_role("heading", name="Nothing ingested yet").is_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "ingest-page-refused.png"), full_page=True)

    page.get_by_label("Sources, one per line").fill("")
    page.get_by_role("button", name="Add sources").click()
    assert "Paste at least one source" in alert.inner_text()


def test_the_lists_stay_live_without_running_script_from_titles(site, browser, ingest_settings):
    page = _log_in(browser, site)
    # The page's timers run only when the test says so: no poll can slip in between two steps.
    page.clock.install()
    page.reload()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    hostile = '<img src=x onerror="window.hacked = true">'
    video = make_video(title=hostile, status=Video.Status.FAILED, error=f"boom {hostile}", url="javascript:alert(1)")
    page.clock.run_for(2100)
    row = page.locator(f'.job[data-video-id="{video.pk}"]')
    row.wait_for()
    assert row.locator(".job-title").inner_text() == hostile
    assert row.locator(".job-error").inner_text() == f"boom {hostile}"
    assert row.locator("a.job-url").count() == 0, "only http(s) addresses become links"
    assert page.evaluate("() => window.hacked") is None

    # Someone else already retried it: the refusal is shown, and stays after the next poll.
    Video.objects.filter(pk=video.pk).update(status=Video.Status.SCANNED, error="")
    row.get_by_role("button", name="Retry").click()
    outcome = row.locator(".job-outcome")
    outcome.filter(has_text="Not retried").wait_for()
    assert "this one is processed" in outcome.inner_text()
    page.clock.run_for(2100)
    expect(row).to_have_attribute("data-status", "processed")
    assert row.get_by_role("button", name="Retry").is_hidden()
    assert "this one is processed" in outcome.inner_text()

    # The server can't be reached: a visible alert, gone once polling works again.
    page.route("**/api/sources/", lambda route: route.abort())
    page.clock.run_for(2100)
    problem = page.locator(".poll-error")
    problem.wait_for()
    assert "could not be updated" in problem.inner_text()
    page.unroute("**/api/sources/")
    page.clock.run_for(2100)
    problem.wait_for(state="hidden")

    # A hidden tab asks nothing, and catches up as soon as it is shown again.
    hide = "(hidden) => { Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});" \
           " document.dispatchEvent(new Event('visibilitychange')); }"  # fmt: skip
    page.evaluate(hide, True)
    requests.clear()
    page.clock.run_for(10_000)
    assert not [url for url in requests if "/api/" in url]
    page.evaluate(hide, False)
    page.wait_for_timeout(1000)  # real time: the fake clock stands still
    assert [url for url in requests if "/api/sources/" in url]
