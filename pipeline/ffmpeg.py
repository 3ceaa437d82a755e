"""The ffmpeg adapter: the only module that runs the ffmpeg binary."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import numpy as np


@cache
def ffmpeg_binary() -> str:
    """The system's ffmpeg when there is one (it may have NVENC/NVDEC), else the one imageio-ffmpeg ships."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


class FfmpegError(RuntimeError):
    """ffmpeg failed; the message carries the end of what it said."""


def encode_frames(path: Path, frames: Iterable[np.ndarray], *, fps: float, size: tuple[int, int],
                  audio_tone: float | None = None) -> Path:  # fmt: skip
    """Encode RGB frames of `size` (width, height) to an H.264 MP4 (with a sine tone as audio when asked),
    streaming them to ffmpeg so that memory holds one frame at a time."""
    width, height = size
    command = [
        ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
    ]  # fmt: skip
    if audio_tone is not None:
        command += ["-f", "lavfi", "-i", f"sine=frequency={audio_tone}:sample_rate=48000", "-shortest", "-c:a", "aac"]
    command += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None
    try:
        for frame in frames:
            if frame.shape != (height, width, 3):
                raise ValueError(f"frame is {frame.shape}, expected {(height, width, 3)}")
            process.stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
    except BrokenPipeError:
        pass
    finally:
        process.stdin.close()
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.wait() != 0:
        path.unlink(missing_ok=True)
        raise FfmpegError(f"ffmpeg could not encode {path.name}: {stderr.strip()[-500:]}")
    return path
