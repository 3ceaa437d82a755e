"""Frames from a video, decoded with PyAV at a fixed time stride: the input of every image stage.

The video is decoded once, front to back, with FFmpeg's own threads. Seeking for each sample
would be slower at the rates we sample at (a few frames a second), because every seek has to
decode again from the keyframe before it. Frames come out of a generator, so only the frame in
hand is held in memory, however long the video.

FFmpeg treats a damaged file as leniently as it can. A packet it cannot decode raises, but a file
that simply stops (an interrupted download) just ends, with no error at all. So besides turning
FFmpeg's exceptions into FrameReadError, we compare where the video stream stopped with the length
its container declares, and raise when it stopped well short of it. Either way the frames that
were read have been yielded first: a caller keeps what it read and learns why it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

# A frame this close before a sample time still counts as "at" it: timestamps in a coarse time
# base (Matroska's is 1 ms) land just short of a sample time that is a repeating decimal (1/3 s).
_SAMPLE_TIME_SLACK_SECONDS = 0.001

# How far a stream may stop short of its declared length before we call it truncated. Containers
# declare the longest stream, and audio often runs on a little after the picture ends.
_TRUNCATION_SLACK_SECONDS = 1.0
_TRUNCATION_SLACK_FRACTION = 0.01


class FrameReadError(RuntimeError):
    """The video could not be read (to the end); the message names the file, the second and FFmpeg's reason."""


@dataclass(frozen=True, eq=False)  # eq=False: comparing frames field by field would compare whole arrays.
class Frame:
    second: float  # from the start of the video stream, so the first frame is at 0.0
    image: np.ndarray  # RGB, uint8, height x width x 3


def sample_frames(
    path: Path,
    *,
    per_second: float = 2.0,
    max_side: int | None = None,
    keyframes_only: bool = False,
    reference_frames_only: bool = False,
) -> Iterator[Frame]:
    """Yield the first frame at or after each sample time 0, 1/per_second, 2/per_second, ...

    max_side shrinks each frame (keeping its aspect) so its longer side is at most that many pixels.
    keyframes_only yields every keyframe instead, and decodes nothing else: a cheap first look.
    reference_frames_only lets the decoder skip the frames no other frame is predicted from (the
    B-frames of most H.264 and HEVC web video), where it can: a sample then lands on the next
    frame decoded, a few frames late at most, for a third less decoding at a sample or two a second.
    Raises FrameReadError before the first frame when the file is not a readable video, and after
    the last good frame when the video is corrupt or cut short.
    """
    if per_second <= 0:
        raise ValueError(f"per_second must be positive, not {per_second}")
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be at least 1, not {max_side}")

    container = _open(path)
    with container:
        if not container.streams.video:
            kinds = sorted({stream.type for stream in container.streams}) or ["no streams"]
            raise FrameReadError(f"{path}: no video stream (found {', '.join(kinds)})")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if keyframes_only:
            # The decoder throws away all but keyframe packets undecoded: a small share of a full decode.
            stream.codec_context.skip_frame = "NONKEY"
        elif reference_frames_only:
            stream.codec_context.skip_frame = "NONREF"

        extent = _StreamExtent()
        decoded = _decoded_frames(container, stream, extent)
        first_time: float | None = None
        second = 0.0
        next_sample_index = 0
        while True:
            try:
                av_frame = next(decoded, None)
            except (av.FFmpegError, EOFError) as error:
                raise FrameReadError(
                    f"{path}: decoding stopped after {second:.2f} s: FFmpeg said: {_ffmpeg_reason(error)}"
                ) from error
            if av_frame is None:
                break

            if av_frame.time is not None:
                if first_time is None:
                    first_time = float(av_frame.time)
                second = max(float(av_frame.time) - first_time, 0.0)
            # else: a frame without a timestamp (rare, in old AVI files) is taken to be at the
            # previous frame's second, so it is still seen without moving the clock.

            if not keyframes_only:
                if second < next_sample_index / per_second - _SAMPLE_TIME_SLACK_SECONDS:
                    continue
                # Jump past every sample time this frame covers, so a video with fewer frames
                # per second than we sample at yields each of its frames once, not repeatedly.
                next_sample_index = math.floor(second * per_second + _SAMPLE_TIME_SLACK_SECONDS) + 1
            yield Frame(second=second, image=_to_rgb(av_frame, max_side))

        shortfall = _truncation(container, stream, extent)
        if shortfall is not None:
            stopped, declared = shortfall
            raise FrameReadError(
                f"{path}: the video stops at {stopped:.2f} s of the {declared:.2f} s its container declares; "
                "the file looks truncated (FFmpeg reported no error, it just ran out of data)"
            )


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise FrameReadError(f"{path}: no such file")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, EOFError, UnicodeDecodeError) as error:
        raise FrameReadError(f"{path}: cannot be opened as a video: FFmpeg said: {_ffmpeg_reason(error)}") from None


@dataclass
class _StreamExtent:
    """How far into the stream the demuxer got, in the stream's time base (absolute, not from 0)."""

    end_pts: int | None = None


def _decoded_frames(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, extent: _StreamExtent
) -> Iterator[av.VideoFrame]:
    for packet in container.demux(stream):
        # Track the demuxed extent, not the decoded one: with keyframes_only most packets decode to nothing.
        if packet.pts is not None:
            packet_end = packet.pts + (packet.duration or 0)
            extent.end_pts = packet_end if extent.end_pts is None else max(extent.end_pts, packet_end)
        yield from packet.decode()


def _to_rgb(av_frame: av.VideoFrame, max_side: int | None) -> np.ndarray:
    width, height = av_frame.width, av_frame.height
    if max_side is not None and max(width, height) > max_side:
        scale = max_side / max(width, height)
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
        # One swscale pass both shrinks and converts, before numpy ever sees the full-size picture.
        av_frame = av_frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA")
    return av_frame.to_ndarray(format="rgb24")


def _truncation(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, extent: _StreamExtent
) -> tuple[float, float] | None:
    """(second reached, seconds declared), both from the stream's start, when the stream stopped well short."""
    declared = _declared_span(container, stream)
    if declared is None or extent.end_pts is None or stream.time_base is None:
        return None
    declared_start, declared_end = declared
    reached_end = float(extent.end_pts * stream.time_base)
    slack = max(_TRUNCATION_SLACK_SECONDS, _TRUNCATION_SLACK_FRACTION * (declared_end - declared_start))
    if declared_end - reached_end <= slack:
        return None
    return reached_end - declared_start, declared_end - declared_start


def _declared_span(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> tuple[float, float] | None:
    """Where the container says the video starts and ends, in seconds; the video stream's own figures first."""
    if stream.duration and stream.time_base:
        start = float((stream.start_time or 0) * stream.time_base)
        return start, start + float(stream.duration * stream.time_base)
    if container.duration:
        start = (container.start_time or 0) / av.time_base
        return start, start + container.duration / av.time_base
    return None


def _ffmpeg_reason(error: BaseException) -> str:
    """FFmpeg's own words, without PyAV's errno number: 'Invalid data found when processing input'."""
    if isinstance(error, av.FFmpegError) and error.strerror:
        return error.strerror
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
