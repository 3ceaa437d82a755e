"""Test media, made with the real ffmpeg: short H.264/AAC clips, and broken files of several kinds."""

from __future__ import annotations

import random
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


def make_video(path: Path, *, graph: str, keyframe_every: int | None = None, preset: str = "ultrafast") -> Path:
    """A video-only H.264 file drawn by a lavfi filter graph; the container follows the file's extension.

    keyframe_every puts a keyframe every that many frames and nowhere else (no extra ones at scene changes).
    preset: x264's; "ultrafast" makes no B-frames, "veryfast" (as most web video) does.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    keyframes = ["-g", str(keyframe_every), "-keyint_min", str(keyframe_every), "-sc_threshold", "0"]
    faststart = ["-movflags", "+faststart"] if path.suffix in {".mp4", ".mov"} else []
    subprocess.run(
        [
            ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-y", "-filter_complex", graph,
            "-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p",
            *(keyframes if keyframe_every else []), *faststart, str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def make_hard_cut(
    path: Path, *, first: str = "testsrc2", second: str = "smptebars", seconds_each: float = 3.0, size: str = "320x240"
) -> Path:
    """A video that cuts, with no transition, from one lavfi pattern to another after seconds_each."""
    return make_video(
        path,
        graph=(
            f"{first}=size={size}:rate=25:duration={seconds_each}[first];"
            f"{second}=size={size}:rate=25:duration={seconds_each}[second];"
            "[first][second]concat=n=2:v=1:a=0"
        ),
    )


def truncate(path: Path, *, keep_fraction: float) -> Path:
    """Cut the file off after this fraction of its bytes, as an interrupted download would be."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep_fraction)])
    return path


def overwrite_with_garbage(path: Path, *, start_fraction: float, length_fraction: float, seed: int = 0) -> Path:
    """Replace a stretch of the file's bytes with random ones (the same ones for the same seed)."""
    data = bytearray(path.read_bytes())
    start, length = int(len(data) * start_fraction), int(len(data) * length_fraction)
    data[start : start + length] = random.Random(seed).randbytes(length)
    path.write_bytes(bytes(data))
    return path
