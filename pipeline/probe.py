"""What a media file really is, read with PyAV: a check that a download is a playable video."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

# Containers we keep, by the names FFmpeg's demuxers give them.
_VIDEO_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "mkv", "webm": "webm", "avi": "avi"}


class NotAVideo(ValueError):
    """The file is not a video clockweb can use; the message says what it is instead."""


@dataclass(frozen=True)
class VideoProbe:
    container: str
    extension: str
    duration_seconds: float
    width: int
    height: int
    video_codec: str
    frames_per_second: float | None
    has_audio: bool


def probe_video(path: Path) -> VideoProbe:
    """Open the file, check it has a decodable video stream, and describe it; NotAVideo otherwise."""
    if not path.exists() or path.stat().st_size == 0:
        raise NotAVideo("the file is empty")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                kinds = sorted({stream.type for stream in container.streams}) or ["no streams"]
                raise NotAVideo(f"no video stream (found {', '.join(kinds)})")
            stream = container.streams.video[0]
            duration = _duration(container, stream)
            first = next(container.decode(stream), None)
            if first is None:
                raise NotAVideo("the video stream has no decodable frames")
            extension = _VIDEO_CONTAINERS.get(container.format.name)
            if extension is None:
                raise NotAVideo(f"unsupported container {container.format.name!r}")
            rate = stream.average_rate or stream.guessed_rate
            return VideoProbe(
                container=container.format.name,
                extension=extension,
                duration_seconds=duration,
                width=first.width,
                height=first.height,
                video_codec=stream.codec_context.name,
                frames_per_second=float(rate) if rate else None,
                has_audio=bool(container.streams.audio),
            )
    except NotAVideo:
        raise
    except (av.FFmpegError, UnicodeDecodeError, EOFError) as error:
        raise NotAVideo(f"not a readable video: {_first_line(error)}") from None


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if container.duration:
        return container.duration / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return 0.0


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
