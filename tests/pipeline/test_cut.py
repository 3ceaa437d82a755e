"""The ffmpeg adapter's cutting: uniform clips, frame-accurate, with clear errors."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import pytest

from pipeline.ffmpeg import FfmpegError, cut_clip, extract_thumbnail, ffmpeg_binary


def _source(path: Path, *, size: str = "1920x1080", seconds: int = 4, audio: bool = False) -> Path:
    command = [ffmpeg_binary(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25"]
    if audio:
        command += ["-f", "lavfi", "-i", "sine=frequency=300:sample_rate=44100", "-c:a", "aac"]
    command += ["-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(command, check=True)
    return path


def _describe(path: Path) -> dict:
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        frames = sum(1 for _ in container.decode(video=0))
        return {
            "size": (video.codec_context.width, video.codec_context.height),
            "codec": video.codec_context.name,
            "profile": video.codec_context.profile,
            "rate": video.average_rate,
            "frames": frames,
            "audio": (audio.codec_context.name, audio.codec_context.sample_rate, audio.codec_context.channels),
        }


def test_a_clip_is_h264_high_720p_30fps_with_aac_48k_and_its_index_first(tmp_path):
    source = _source(tmp_path / "big.mp4")

    clip = cut_clip(source, tmp_path / "clip.mp4", start=1.0, duration=2.0, has_audio=False, gpu=False)

    described = _describe(clip)
    assert described["size"] == (1280, 720)
    assert described["codec"] == "h264" and described["profile"] == "High"
    assert described["rate"] == Fraction(30)
    assert described["frames"] == 60, "2.0 s at a constant 30 fps"
    assert described["audio"] == ("aac", 48000, 2), "silence is added where the source has no sound"
    head = clip.read_bytes()[:4096]
    assert b"moov" in head, "+faststart puts the index before the media"
    assert not list(tmp_path.glob("*.part.*"))


def test_the_cut_starts_on_the_asked_frame(tmp_path):
    # testsrc2 draws a frame counter; compare the clip's first frame with the source's frame at 2.0 s.
    source = _source(tmp_path / "src.mp4", size="640x360", seconds=4, audio=True)
    clip = cut_clip(source, tmp_path / "clip.mp4", start=2.0, duration=1.0, has_audio=True, gpu=False)

    def frame_at(path: Path, second: float):
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                if frame.time is not None and frame.time >= second - 1e-3:
                    return frame.to_ndarray(format="gray").astype(int)
        raise AssertionError("no frame")

    difference = abs(frame_at(clip, 0.0) - frame_at(source, 2.0)).mean()
    neighbour = abs(frame_at(clip, 0.0) - frame_at(source, 2.04)).mean()
    assert difference < neighbour, (difference, neighbour)


def test_a_thumbnail_is_a_small_jpeg(tmp_path):
    clip = cut_clip(_source(tmp_path / "src.mp4", size="640x360"), tmp_path / "c.mp4", start=0, duration=1,
                    has_audio=False, gpu=False)  # fmt: skip
    thumb = extract_thumbnail(clip, tmp_path / "t.jpg", second=0.5)
    assert thumb.read_bytes()[:2] == b"\xff\xd8"
    with av.open(str(thumb)) as image:
        assert image.streams.video[0].codec_context.height == 180


def test_a_broken_source_is_a_clear_error_and_leaves_no_file(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00not a video" * 1000)
    with pytest.raises(FfmpegError, match=r"could not cut 1\.00-3\.00 s of broken\.mp4"):
        cut_clip(broken, tmp_path / "clip.mp4", start=1.0, duration=2.0, has_audio=False, gpu=False)
    assert not (tmp_path / "clip.mp4").exists()
    assert not list(tmp_path.glob("*.part.*"))


def test_a_clip_needs_a_positive_duration(tmp_path):
    with pytest.raises(ValueError, match="positive duration"):
        cut_clip(tmp_path / "x.mp4", tmp_path / "clip.mp4", start=0, duration=0, has_audio=False, gpu=False)


def _loudness(path: Path) -> float:
    """Mean level of the clip's sound in dBFS."""
    import numpy as np

    with av.open(str(path)) as container:
        samples = np.concatenate([frame.to_ndarray().ravel() for frame in container.decode(audio=0)])
    # Skip the fades at either end.
    middle = samples[len(samples) // 4 : -len(samples) // 4]
    return float(20 * np.log10(np.sqrt(np.mean(middle.astype(np.float64) ** 2)) + 1e-12))


def test_quiet_and_loud_sources_come_out_at_about_the_same_loudness(tmp_path):
    clips = []
    for name, volume in (("quiet", 0.02), ("loud", 0.9)):
        source = tmp_path / f"{name}.mp4"
        subprocess.run(
            [ffmpeg_binary(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
             "-f", "lavfi", "-i", f"anoisesrc=color=pink:amplitude={volume}:sample_rate=48000",
             "-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(source)],
            check=True,
        )  # fmt: skip
        clips.append(
            cut_clip(source, tmp_path / f"{name}-clip.mp4", start=0.5, duration=5.0, has_audio=True, gpu=False)
        )

    quiet, loud = (_loudness(clip) for clip in clips)
    assert abs(quiet - loud) < 4.0, (quiet, loud)
    assert -30 < quiet < -8, "around the -16 LUFS target"
