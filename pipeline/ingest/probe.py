"""What a media file really is, read with PyAV: a check that a download is a playable video."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

# Containers we keep, by the names FFmpeg's demuxers give them.
_VIDEO_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "mkv", "webm": "webm", "avi": "avi"}

# The largest picture taken: 8K UHD, either way round. One decoded frame of a 16K picture takes
# hundreds of megabytes, and nothing on the clock needs more than 8K.
MAX_PIXELS = 7680 * 4320

# How far the data may stop short of the length the container declares (as in pipeline.frames).
_TRUNCATION_SLACK_SECONDS = 1.0
_TRUNCATION_SLACK_FRACTION = 0.01


class NotAVideo(ValueError):
    """The file is not a video clockweb can use; the message says what it is instead."""


class VideoTooLarge(NotAVideo):
    """A real video, but past a limit clockweb keeps to (its picture size, its length); the message names it."""


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
    """Open the file, check it has a decodable video stream that is all there, and describe it;
    NotAVideo otherwise (VideoTooLarge for a picture over MAX_PIXELS)."""
    if not path.exists() or path.stat().st_size == 0:
        raise NotAVideo("the file is empty")
    try:
        # max_pixels: FFmpeg's own look at the streams does not decode a huge picture either.
        with av.open(str(path), metadata_errors="ignore", options={"max_pixels": str(MAX_PIXELS)}) as container:
            # A music file's cover art is a "video" stream of one picture: it does not count.
            pictures = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
            if not pictures:
                kinds = sorted({stream.type for stream in container.streams} - {"video"})
                if container.streams.video:
                    kinds.append("a cover picture")
                raise NotAVideo(f"no video stream (found {', '.join(kinds) or 'no streams'})")
            stream = pictures[0]
            extension = _VIDEO_CONTAINERS.get(container.format.name)
            if extension is None:
                if container.format.name == "image2" or container.format.name.endswith("_pipe"):
                    raise NotAVideo(f"a still image ({stream.codec_context.name}), not a video")
                raise NotAVideo(f"unsupported container {container.format.name!r}")
            # From the stream's header, before a frame is decoded: a huge picture never reaches memory.
            _check_size(stream.codec_context.width, stream.codec_context.height)
            duration = _duration(container, stream)
            first = next(container.decode(stream), None)
            if first is None:
                raise NotAVideo("the video stream has no decodable frames")
            _check_size(first.width, first.height)
            _check_complete(container, stream)
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


def _check_size(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise VideoTooLarge(
            f"the picture is {width}x{height} pixels; a resolution over 8K (7680x4320, "
            f"{MAX_PIXELS / 1e6:.0f} megapixels) exceeds the limit"
        )


def _check_complete(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> None:
    """NotAVideo when the file's data stops well before the end its container declares (an
    interrupted download): seek to just before that end and see how far the packets there reach.
    Where only the container knows the length, every stream counts: audio may outlast the picture."""
    if stream.duration and stream.time_base:
        start = float((stream.start_time or 0) * stream.time_base)
        end, streams = start + float(stream.duration * stream.time_base), [stream]
    elif container.duration:
        start = (container.start_time or 0) / av.time_base
        end, streams = start + container.duration / av.time_base, list(container.streams)
    else:
        return  # nothing declared (an MPEG-TS stream): nothing to compare with
    slack = max(_TRUNCATION_SLACK_SECONDS, _TRUNCATION_SLACK_FRACTION * (end - start))
    try:
        container.seek(int((end - slack) / stream.time_base), stream=stream, backward=True)
    except av.FFmpegError:
        return  # not seekable: pipeline.frames still notices a short stream while it decodes
    reached = None
    try:
        for packet in container.demux(streams):
            if packet.pts is not None and packet.time_base is not None:
                packet_end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                reached = packet_end if reached is None else max(reached, packet_end)
    except (av.FFmpegError, EOFError):
        pass  # a cut-off last packet: how far the whole ones reached is what counts
    if reached is None or end - reached > slack:
        stopped = f"stops at {max(0.0, reached - start):.2f} s" if reached is not None else "has no data near the end"
        raise NotAVideo(
            f"the file is truncated: its video {stopped} of the {end - start:.2f} s its container declares "
            "(an interrupted download?)"
        )


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if container.duration:
        return container.duration / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return 0.0


def _first_line(error: BaseException) -> str:
    """FFmpeg's own words, without PyAV's errno number and the file's path."""
    if isinstance(error, av.FFmpegError) and error.strerror:
        return error.strerror
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
