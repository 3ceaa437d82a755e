"""Test media, made with the real ffmpeg: short H.264/AAC clips, and broken files of several kinds."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pipeline.ffmpeg import ffmpeg_binary


def make_clip(path: Path, *, seconds: float = 2.0, size: str = "320x240", pattern: str = "testsrc2") -> Path:
    """A real MP4 (H.264 + AAC), different for each (seconds, size, pattern)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"{pattern}=size={size}:rate=25:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def make_audio_only(path: Path, *, seconds: float = 2.0) -> Path:
    subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"sine=frequency=440:duration={seconds}", "-c:a", "aac", str(path)],
        check=True,
    )  # fmt: skip
    return path
