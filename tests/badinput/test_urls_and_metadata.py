"""Hostile sources and hostile metadata: what a curator (or someone with a curator's password) types
as a source, and what a web site says about its videos. Sources are refused with the reason, or
kept as inert text; metadata is stored cleaned and shown escaped; nothing is half-recorded."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django_q.models import OrmQ
from rest_framework.test import APIClient

from catalog import services
from catalog.models import Source, Video
from pipeline.ffmpeg import ffmpeg_binary
from tests.ingest.test_ingest_api import staff  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

HOMOGRAPH = "http://\u0435\u0445ample.org/clock.mp4"  # a Cyrillic ie and ha: not example.org

# What the fake DNS answers; anything else does not resolve (as on a machine without network).
ADDRESSES = {"example.org": "93.184.215.14", "evil.example": "93.184.215.15", "xn--ample-ywe6i.org": "10.20.30.40"}


@pytest.fixture
def fake_dns(monkeypatch):
    """Public names resolve to public addresses, and the homograph to a private one: each URL is
    judged by where its own host name leads, never by the name it looks like."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.encode("idna").decode() if isinstance(host, str) else host.decode()  # as the resolver would
        if name in ADDRESSES:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ADDRESSES[name], port or 80))]
        if name in {"127.0.0.1", "localhost", "::1"} or name[:1].isdigit() or ":" in name:
            return real(host, port, *args, **kwargs)  # literal addresses need no DNS
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def web_ingest(ingest_settings, fake_dns):
    ingest_settings.INGEST_ALLOW_LOOPBACK = False  # as in production
    return ingest_settings


REFUSED = {
    "file-url": ("file:///etc/passwd", "only http and https URLs can be fetched, not file:"),
    "javascript-url": ("javascript:alert(document.cookie)", "only http and https URLs can be fetched, not javascript:"),
    "data-url": ("data:video/mp4;base64,AAAAIGZ0eXBpc29t", "only http and https URLs can be fetched, not data:"),
    "ftp-url": ("ftp://example.org/clock.mp4", "only http and https URLs can be fetched, not ftp:"),
    "gopher-to-redis": ("gopher://127.0.0.1:6379/_FLUSHALL", "only http and https URLs can be fetched, not gopher:"),
    "loopback": ("http://127.0.0.1:8000/admin/", "127.0.0.1 is a loopback address"),
    "localhost": ("http://localhost:5432/", "is a loopback address"),
    "loopback-as-a-decimal-number": ("http://2130706433/clock.mp4", "127.0.0.1 is a loopback address"),
    "loopback-in-hex": ("http://0x7f000001/clock.mp4", "127.0.0.1 is a loopback address"),
    "unspecified-address": ("http://0.0.0.0:8000/", "refused 0.0.0.0"),
    "private-network": ("http://10.0.0.8/clock.mp4", "10.0.0.8 is a private address"),
    "home-router": ("http://192.168.1.1/", "192.168.1.1 is a private address"),
    "cloud-metadata": ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    "private-inside-ipv6": ("http://[::ffff:10.0.0.1]/clock.mp4", "10.0.0.1 is a private address"),
    "userinfo-trick": ("http://example.org@evil.example/clock.mp4", "URLs with a user name or password are refused"),
    "password-in-url": ("https://admin:hunter2@example.org/", "URLs with a user name or password are refused"),
    "homograph-to-a-private-host": (HOMOGRAPH, "10.20.30.40 is a private address"),
    "bidi-override-in-host": ("http://exa\u202emple.org/", "cannot resolve host"),
    "unknown-host": ("https://no-such-host.invalid/clock.mp4", "cannot resolve host 'no-such-host.invalid'"),
    "port-out-of-range": ("http://example.org:99999/", "not a valid URL: Port out of range"),
    "second-url-after-a-line-break": ("https://example.org/a.mp4\nhttp://10.0.0.1/", r"control character ('\n')"),
    "tab-inside": ("https://example.org/\tclock.mp4", r"control character ('\t')"),
    "local-path-from-the-web": ("/etc/passwd", "local files and folders can only be ingested from the command line"),
    "dot-dot-path-from-the-web": (
        "../../etc/passwd",
        "local files and folders can only be ingested from the command line",
    ),
    "file-url-of-a-folder": ("file:///etc/", "only http and https URLs can be fetched, not file:"),
}


@pytest.mark.parametrize(("locator", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_the_api_refuses_a_hostile_source_naming_why_and_records_nothing(staff, web_ingest, locator, reason):  # noqa: F811
    response = staff.post("/api/ingest/", {"sources": ["ytsearch2:station clock", locator]}, format="json")

    assert response.status_code == 400
    assert reason in response.json()["sources"][locator]
    assert not Source.objects.exists(), "all or nothing: the harmless source is not recorded either"
    assert not OrmQ.objects.exists(), "nothing queued"


def test_the_api_refuses_a_source_too_long_to_be_a_url(staff, web_ingest):  # noqa: F811
    response = staff.post("/api/ingest/", {"sources": ["https://example.org/" + "a" * 5000]}, format="json")
    assert response.status_code == 400
    assert response.json()["sources"] == {"0": ["Ensure this field has no more than 4096 characters."]}
    assert not Source.objects.exists()


INERT = {
    # Kept, but as what they are: a search query or a path on the remote server, never an option or a local file.
    "option-injection": ("--exec rm -rf ~", Source.Kind.SEARCH, "ytsearch10:--exec rm -rf ~"),
    "option-injection-with-a-search-prefix": (
        "ytsearch1:--exec 'touch /tmp/owned'",
        Source.Kind.SEARCH,
        "ytsearch1:--exec 'touch /tmp/owned'",
    ),
    "huge-search-count": ("ytsearch99999999:clock", Source.Kind.SEARCH, "ytsearch50:clock"),
    "dot-dot-in-a-url-path": (
        "https://example.org/../../etc/passwd",
        Source.Kind.URL,
        "https://example.org/../../etc/passwd",
    ),
    "markup-as-a-search": ("<script>alert(1)</script>", Source.Kind.SEARCH, "ytsearch10:<script>alert(1)</script>"),
}


@pytest.mark.parametrize(("text", "kind", "locator"), INERT.values(), ids=INERT.keys())
def test_a_source_that_only_looks_dangerous_is_kept_as_inert_text(staff, web_ingest, text, kind, locator):  # noqa: F811
    response = staff.post("/api/ingest/", {"sources": [text]}, format="json")

    assert response.status_code == 202, response.content
    source = Source.objects.get()
    assert (source.kind, source.locator) == (kind, locator)
    assert not Path("/tmp/owned").exists()


CLI_REFUSED = {
    "line-break": ("https://example.org/a.mp4\nfile:///etc/passwd", r"control character ('\n')"),
    "not-utf-8-path": (os.fsdecode(b"/tmp/clock-\xff.mp4"), "bytes that are not UTF-8 text"),
    "too-long": ("https://example.org/" + "a" * 5000, "source is longer than 4096 characters"),
    "no-such-file": ("/nowhere/clock.mp4", "no such file or folder: /nowhere/clock.mp4"),
}


@pytest.mark.parametrize(("locator", "reason"), CLI_REFUSED.values(), ids=CLI_REFUSED.keys())
def test_the_command_refuses_a_hostile_source_naming_why(web_ingest, locator, reason):
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was ingested"):
        call_command("ingest", locator, stdout=StringIO(), stderr=err)
    assert reason in err.getvalue()
    assert not Source.objects.exists()


def test_a_file_url_on_the_command_line_is_a_local_path_and_etc_passwd_is_no_video(web_ingest, capsys):
    with pytest.raises(CommandError, match=r"1 video\(s\) or source\(s\) failed"):
        call_command("ingest", "file:///etc/passwd", stdout=StringIO(), stderr=StringIO())
    assert "passwd: not a readable video" in capsys.readouterr().out
    assert not Video.objects.exists()


def test_an_option_smuggled_in_as_a_source_on_the_command_line_is_refused_as_one(web_ingest):
    with pytest.raises(CommandError, match="unrecognized arguments: --exec"):
        call_command("ingest", "https://example.org/clock.mp4", "--exec", "rm -rf ~", stdout=StringIO())
    assert not Source.objects.exists()


# -- what a hostile site serves --------------------------------------------------------------------


def _files_under(folder: Path | str) -> list[Path]:
    root = Path(folder)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _discover_and_download(url: str) -> Video:
    (source,) = services.sources_create(locators=[url], from_web=True)
    (video,) = services.source_discover(source=source).new_videos
    return services.video_download(video=video)


REDIRECTS = {
    "to-a-private-address": ("http://10.20.30.40/clock.mp4", "10.20.30.40 is a private address"),
    "to-cloud-metadata": ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    "to-a-local-file": ("file:///etc/passwd", "the server redirected to an address that is not http or https"),
}


@pytest.mark.parametrize(("target", "reason"), REDIRECTS.values(), ids=REDIRECTS.keys())
def test_a_download_redirected_somewhere_it_may_not_go_fails_and_stores_nothing(media_server, ingest_settings,
                                                                                target, reason):  # fmt: skip
    source = services.source_create(kind=Source.Kind.URL, locator=media_server.url("go.mp4"))
    video = Video.objects.create(source=source, extractor="generic", external_id="go", url=media_server.url("go.mp4"))
    media_server.redirects["go.mp4"] = target

    video = services.video_download(video=video)

    assert video.status == Video.Status.FAILED
    assert reason in video.error
    assert _files_under(settings.MEDIA_ROOT) == [] and _files_under(settings.INGEST_WORK_DIR) == []


HOSTILE_TITLE = "<script>alert(1)</script>\x1b[2J\u202egnp.exe\x07 \x00&amp; ok"


def test_a_hostile_page_title_is_stored_cleaned_and_shown_escaped(media_server, ingest_settings):
    (media_server.root / "page.html").write_text(
        f'<html><head><meta property="og:title" content="{HOSTILE_TITLE}"></head>'
        f'<body><video src="{media_server.url("clip.mp4")}"></video></body></html>'
    )

    video = _discover_and_download(media_server.url("page.html"))

    assert video.status == Video.Status.DOWNLOADED, video.error
    assert video.title.startswith("<script>alert(1)</script>[2Jgnp.exe & ok"), repr(video.title)
    assert not re.search("[\x00-\x08\x0b-\x1f\u202a-\u202e]", video.title + video.info["title"])
    assert APIClient().get(f"/api/videos/{video.pk}/").json()["title"] == video.title, "JSON carries it as data"
    page = Client().get(f"/videos/{video.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_a_megabyte_title_is_cut_to_the_columns_and_the_info_to_ten_thousand_characters(media_server,
                                                                                          ingest_settings):  # fmt: skip
    (media_server.root / "long.html").write_text(
        f"<html><head><title>{'T' * 1_000_000}</title><meta name='description' content='{'D' * 1_000_000}'>"
        f'</head><body><video src="{media_server.url("clip.mp4")}"></video></body></html>'
    )

    video = _discover_and_download(media_server.url("long.html"))

    assert video.status == Video.Status.DOWNLOADED, video.error
    assert video.title == "T" * 500
    longest = max(len(value) for value in video.info.values() if isinstance(value, str))
    assert longest == 10_000


def test_a_feed_whose_enclosure_is_a_javascript_url_fails_that_video_only(media_server, ingest_settings):
    good = media_server.url("clip.mp4")
    (media_server.root / "hostile.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>clocks</title>'
        '<item><title>click me</title><enclosure url="javascript:alert(1)" type="video/mp4" length="1"/></item>'
        f'<item><title>a clock</title><enclosure url="{good}" type="video/mp4" length="1"/></item></channel></rss>'
    )
    (source,) = services.sources_create(locators=[media_server.url("hostile.xml")], from_web=True)

    found = services.source_discover(source=source).new_videos
    hostile, clock = (services.video_download(video=video) for video in sorted(found, key=lambda v: v.url == good))

    assert clock.status == Video.Status.DOWNLOADED
    assert hostile.status == Video.Status.FAILED
    assert hostile.error == "only http and https URLs can be fetched, not javascript:"
    assert _files_under(settings.MEDIA_ROOT) == [Path(settings.MEDIA_ROOT) / clock.file.name]


def test_container_tags_that_are_not_text_do_not_stop_an_import(ingest_settings, tmp_path):
    path = tmp_path / "tagged.mp4"
    arguments = [
        ffmpeg_binary(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=25:duration=1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-metadata",
        b"title=\xff\xfe<script>\x1b[2J",
        "-metadata",
        "comment=" + "c" * 100_000,
        str(path),
    ]
    subprocess.run([os.fsencode(argument) for argument in arguments], check=True)  # bytes: a title that is not UTF-8

    call_command("ingest", str(path), stdout=StringIO(), stderr=StringIO())

    video = Video.objects.get()
    assert video.status == Video.Status.DOWNLOADED
    assert video.title == "tagged", "the title comes from the file name, never from the file's own tags"
