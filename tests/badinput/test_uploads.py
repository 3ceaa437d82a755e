"""Oversized and malformed uploads: search images that are too big, too many pixels, not images or
broken; request bodies far over the limits; and downloads larger than INGEST_MAX_FILESIZE_MB.
Each is refused with the reason, and nothing is kept."""

from __future__ import annotations

import io
import re
import struct
import sys
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from PIL import Image
from rest_framework.test import APIClient

from catalog import services
from catalog.models import Source, Video

pytestmark = pytest.mark.django_db


def _png_header(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes that says it is width x height (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def _clip(bad_files) -> bytes:
    return bad_files["good"].read_bytes()


SEARCH_IMAGES = {
    "decompression-bomb": (lambda _: _png_header(50_000, 50_000), "the image has far more than 40 megapixels"),
    "too-many-pixels": (
        lambda _: _png_header(10_000, 10_000),
        "the image is 10000x10000 pixels; at most 40 megapixels",
    ),
    "truncated-jpeg": (lambda _: _jpeg()[:600], "not an image that can be read: .*truncated"),
    "jpeg-cut-in-its-header": (lambda _: _jpeg()[:100], "not an image that can be read"),
    "empty-file": (lambda _: b"", "not an image that can be read"),
    "text": (lambda _: b"a photo of a clock, honest", "not in a known image format"),
    "pdf": (
        lambda _: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj",
        "not in a known image format",
    ),
    "svg-with-a-script": (
        lambda _: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "not in a known image format",
    ),
    "executable": (
        lambda _: Path(sys.executable).resolve().read_bytes()[: 32 * 1024],
        "not in a known image format",
    ),
    "a-video-not-an-image": (_clip, "not in a known image format"),
}


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's, at 10000x10000: refused below
@pytest.mark.parametrize(("make", "reason"), SEARCH_IMAGES.values(), ids=SEARCH_IMAGES.keys())
def test_a_search_image_that_cannot_be_one_is_a_400_that_says_why(make, reason, bad_files):
    upload = io.BytesIO(make(bad_files))
    upload.name = "query.png"

    response = APIClient().post("/api/search", {"image": upload, "q": "a clock"}, format="multipart")

    assert response.status_code == 400, response.content
    assert re.search(reason, response.json()["image"][0], re.IGNORECASE), response.json()
    assert not Path(settings.MEDIA_ROOT).exists() or not any(Path(settings.MEDIA_ROOT).rglob("*")), "nothing kept"


def test_an_image_over_the_upload_limit_is_refused_with_both_sizes(settings):
    settings.SEARCH_MAX_UPLOAD_MB = 1
    upload = io.BytesIO(_png_header(64, 48) + b"\x00" * (2 * 1024 * 1024))

    response = APIClient().post("/api/search", {"image": upload}, format="multipart")

    assert response.status_code == 400
    assert response.json()["image"] == ["the image is 2.0 MB; at most 1 MB"]


def test_an_upload_far_over_the_body_limit_is_refused_before_it_is_read(settings):
    settings.UPLOAD_MAX_BODY_SIZE = 1024 * 1024
    upload = io.BytesIO(b"\x00" * (3 * 1024 * 1024))

    response = APIClient().post("/api/search", {"image": upload}, format="multipart")

    assert response.status_code == 413
    assert "may be at most 1.0 MB" in response.json()["detail"]


def test_a_json_body_far_over_the_limit_is_a_413_and_records_nothing(ingest_settings):
    client = APIClient()
    client.force_authenticate(User.objects.create_user("curator", is_staff=True))
    body = '{"sources": ["ytsearch1:clock"], "padding": "' + "x" * (3 * settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + '"}'

    response = client.generic("POST", "/api/ingest/", body, content_type="application/json")

    assert response.status_code == 413
    assert "a request body may be at most" in response.json()["detail"]
    assert not Source.objects.exists()


def test_a_json_body_to_the_upload_endpoint_is_a_415():
    response = APIClient().generic("POST", "/api/search", '{"image": "x"}', content_type="application/json")
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


def test_a_multipart_body_without_its_boundary_is_a_400():
    response = APIClient().generic("POST", "/api/search", b"--x\r\n", content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Multipart form parse error" in response.json()["detail"]


# -- downloads over INGEST_MAX_FILESIZE_MB ------------------------------------------------------------


@pytest.mark.parametrize("announced", [True, False], ids=["size-announced", "size-not-announced"])
def test_a_download_over_the_size_limit_fails_as_too_large_and_keeps_nothing(media_server, ingest_settings,
                                                                              announced):  # fmt: skip
    ingest_settings.INGEST_MAX_FILESIZE_MB = 0.05  # 51 KiB; the clip is several times that
    if not announced:
        media_server.unsized.add("long.mp4")
    source = services.source_create(kind=Source.Kind.URL, locator=media_server.url("long.mp4"))
    video = Video.objects.create(
        source=source, extractor="generic", external_id="long", url=media_server.url("long.mp4")
    )

    video = services.video_download(video=video)

    assert video.status == Video.Status.FAILED
    assert "the file is too large" in video.error and "51.2 KiB" in video.error
    assert not video.file
    leftovers = [p for root in (settings.MEDIA_ROOT, settings.INGEST_WORK_DIR) for p in Path(root).rglob("*")
                 if p.is_file()]  # fmt: skip
    assert leftovers == [], "no partial file: a retry cannot make it smaller"
