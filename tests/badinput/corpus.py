"""The bad-input corpus: files that are not videos clockweb can use, made at test time (no binary
blobs in the repository) with the project's own ffmpeg, PyAV and plain bytes.

Each case names the problem a user must be told about: `reason` is a regular expression the error
must match when the file is imported from disk (`manage.py ingest PATH`), and `download_reason` the
one when a web server hands it out (the worker's download), where the two differ.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av

from pipeline.ffmpeg import ffmpeg_binary
from tests.media import make_audio_only, make_clip, make_video, overwrite_with_garbage, truncate

NOT_READABLE = "not a readable video: Invalid data found when processing input"


@dataclass(frozen=True)
class BadFile:
    name: str  # the test id, and the file's name under the corpus folder
    make: Callable[[Path], object]  # writes the bad thing at the path it is given
    reason: str  # what `manage.py ingest PATH` must say about it (a regular expression)
    download_reason: str | None = None  # what a failed download must say, when that differs
    over_http: bool = True  # False: a thing only a file system has (a folder, a link, a pipe)

    @property
    def expected_download_error(self) -> str:
        return self.download_reason or self.reason


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def _cut(keep_fraction: float) -> Callable[[Path], object]:
    return lambda path: truncate(make_clip(path, seconds=4), keep_fraction=keep_fraction)


def _bytes_of(data: bytes) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(data)


def _renamed_image(codec: str) -> Callable[[Path], object]:
    """A real picture file (PNG, JPEG) under a video's name."""

    def make(path: Path) -> None:
        _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", "-c:v", codec, "-f", "image2", str(path))

    return make


def _wav(path: Path) -> None:
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-f", "wav", str(path))


def _music_with_cover_art(path: Path) -> None:
    """An AAC song in an MP4 with its album cover: the cover is a one-picture "video" stream."""
    cover = path.with_name(path.name + ".cover.png")
    _renamed_image("png")(cover)
    _ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-i", str(cover), "-map", "0:a", "-map", "1:v", "-c:a", "aac",
            "-c:v", "png", "-disposition:v:0", "attached_pic", "-f", "mp4", str(path))  # fmt: skip
    cover.unlink()


def _animated_gif(path: Path) -> None:
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5:duration=1", "-f", "gif", str(path))


def _without_video_frames(path: Path) -> None:
    """An MP4 whose header was written for an H.264 stream that never got a single frame."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        out.start_encoding()


def _blank_frames(path: Path) -> None:
    """A valid MP4 header and index over frames whose every byte is zero."""
    make_video(path, graph="testsrc2=size=64x48:rate=25:duration=1")
    data = bytearray(path.read_bytes())
    start = data.find(b"mdat") + 4
    data[start:] = bytes(len(data) - start)
    path.write_bytes(bytes(data))


def _huge_picture(path: Path) -> None:
    """One black frame of 16K (15360x8640, 133 megapixels): small on disk, huge once decoded."""
    _ffmpeg("-f", "lavfi", "-i", "color=size=15360x8640:rate=1", "-frames:v", "1",
            "-c:v", "libx264", "-preset", "ultrafast", str(path))  # fmt: skip


def _ten_hours(path: Path) -> None:
    """Ten hours of a still picture at one frame per ten seconds: about 50 KB."""
    _ffmpeg("-f", "lavfi", "-i", "color=size=64x36:rate=1/10", "-t", "36000",
            "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", str(path))  # fmt: skip


def _index_at_the_end_cut_in_half(path: Path) -> None:
    """An MP4 written without faststart (its index after the data), cut off before the index."""
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2", "-c:v", "libx264", "-preset", "ultrafast",
            "-f", "mp4", str(path))  # fmt: skip
    truncate(path, keep_fraction=0.5)


def _zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("clock.txt", "tick " * 1000)


def _executable(path: Path) -> None:
    path.write_bytes(Path(sys.executable).resolve().read_bytes()[: 64 * 1024])


def _eight_gigabytes_of_zeros(path: Path) -> None:
    """A sparse file: 8 GiB long, nothing on disk. Probing it must not read it all."""
    with path.open("wb") as handle:
        handle.truncate(8 * 1024**3)


def _folder(path: Path) -> None:
    path.mkdir()


def _link_to_passwd(path: Path) -> None:
    path.symlink_to("/etc/passwd")


def _named_pipe(path: Path) -> None:
    os.mkfifo(path)


BAD_FILES = [
    BadFile("zero-bytes", _bytes_of(b""), "the file is empty", download_reason="the server sent an empty file"),
    BadFile("truncated-at-half", _cut(0.5), r"the file is truncated: its video stops at [0-9.]+ s of the 4\.00 s"),
    BadFile("truncated-at-a-tenth", _cut(0.1), "the file is truncated"),
    BadFile("truncated-before-the-first-frame", _cut(0.005), NOT_READABLE),
    BadFile("index-at-the-end-cut-off", _index_at_the_end_cut_in_half, NOT_READABLE),
    BadFile(
        "garbage-in-the-header",
        lambda p: overwrite_with_garbage(make_clip(p), start_fraction=0.0, length_fraction=0.05),
        NOT_READABLE,
    ),
    BadFile("random-bytes", _bytes_of(random.Random(7).randbytes(100_000)), NOT_READABLE),
    BadFile("audio-only-wav", _wav, r"no video stream \(found audio\)"),
    BadFile("audio-only-aac", make_audio_only, r"no video stream \(found audio\)"),
    BadFile("music-with-cover-art", _music_with_cover_art, r"no video stream \(found audio, a cover picture\)"),
    BadFile("png-renamed", _renamed_image("png"), r"a still image \(png\), not a video"),
    BadFile("jpeg-renamed", _renamed_image("mjpeg"), r"a still image \(mjpeg\), not a video"),
    BadFile("animated-gif-renamed", _animated_gif, "unsupported container 'gif'"),
    BadFile("text-renamed", _bytes_of(b"these are my notes about clocks\n" * 100), NOT_READABLE),
    BadFile("html-renamed", _bytes_of(b"<html><body><video src=x></video></body></html>"), NOT_READABLE),
    BadFile("executable-renamed", _executable, NOT_READABLE),
    BadFile("zip-renamed", _zip, NOT_READABLE),
    BadFile("no-video-frames", _without_video_frames, r"no video stream \(found no streams\)"),
    BadFile("blank-frames", _blank_frames, NOT_READABLE),
    BadFile(
        "16k-picture",
        _huge_picture,
        r"the picture is 15360x8640 pixels; a resolution over 8K .* exceeds the limit",
        download_reason=r"^the picture is 15360x8640 pixels",  # over a limit, but a video all the same
    ),
    BadFile("ten-hours", _ten_hours, r"the video lasts 10:00:00, over the limit of 4:00:00"),
    BadFile("eight-gigabytes-of-zeros", _eight_gigabytes_of_zeros, NOT_READABLE, over_http=False),
    BadFile("folder-named-mp4", _folder, "no video files there", over_http=False),
    BadFile("link-to-etc-passwd", _link_to_passwd, NOT_READABLE, over_http=False),
    BadFile("named-pipe", _named_pipe, "no video files there", over_http=False),
]


def make_corpus(folder: Path) -> dict[str, Path]:
    """Every bad file of BAD_FILES under `folder`, named `<case>.mp4`, and one good clip, `good.mp4`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"good": make_clip(folder / "good.mp4", seconds=2, pattern="smptebars")}
    for case in BAD_FILES:
        path = folder / f"{case.name}.mp4"
        case.make(path)
        paths[case.name] = path
    return paths
