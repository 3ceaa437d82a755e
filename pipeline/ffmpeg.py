"""The ffmpeg adapter: the only module that runs the ffmpeg binary."""

from __future__ import annotations

import ctypes
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import numpy as np

from pipeline.files import written_whole


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


_PR_SET_PDEATHSIG = 1


def _dies_with_parent() -> None:
    """Run in the child before ffmpeg starts: a worker killed mid-cut takes its ffmpeg with it, so no
    orphan ffmpeg goes on writing the partial file that the task, run again, writes afresh."""
    if sys.platform == "linux":
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


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


# -- cutting clips --------------------------------------------------------------------------

CLIP_FPS = 30
CLIP_MAX_SIDE = 720  # "720p": the shorter side of the picture is at most this
AUDIO_RATE = 48_000
FADE_SECONDS = 0.2
# EBU R128 style target, so that one clip is not louder than the next.
LOUDNESS = "loudnorm=I=-16:TP=-1.5:LRA=11"


@cache
def nvenc_available() -> bool:
    """Whether this ffmpeg can encode with NVENC and an NVIDIA device is present."""
    if not Path("/dev/nvidia0").exists():
        return False
    listed = subprocess.run([ffmpeg_binary(), "-hide_banner", "-encoders"], capture_output=True, text=True, check=False)
    return "h264_nvenc" in listed.stdout


def _run(command: list[str], what: str, partial: Path) -> None:
    finished = subprocess.run(command, capture_output=True, check=False, preexec_fn=_dies_with_parent)
    if finished.returncode != 0:
        partial.unlink(missing_ok=True)
        said = finished.stderr.decode(errors="replace").strip().splitlines()
        raise FfmpegError(f"ffmpeg could not {what}: {' | '.join(said[-3:]) or f'exit {finished.returncode}'}")


def _video_encoder(gpu: bool, *, preset: str = "veryfast", crf: int = 21) -> list[str]:
    """H.264 High: NVENC on a GPU, else x264 at `preset` (faster presets for live rendering)."""
    if gpu:
        return ["-c:v", "h264_nvenc", "-profile:v", "high", "-preset", "p4", "-rc", "vbr", "-cq", "23"]
    return ["-c:v", "libx264", "-profile:v", "high", "-preset", preset, "-crf", str(crf)]


def cut_clip(source: Path, out: Path, *, start: float, duration: float, has_audio: bool,
             gpu: bool | None = None) -> Path:  # fmt: skip
    """Cut [start, start + duration) of `source` into a uniform clip: H.264 High, constant 30 fps, at most
    720p, AAC 48 kHz stereo with normalised loudness and short fades (silence when the source has
    no sound), MP4 with the index first. Seeking before the input and re-encoding is frame-accurate.
    Written beside `out` and renamed, so `out` is either whole or absent."""
    if duration <= 0:
        raise ValueError(f"a clip needs a positive duration, not {duration}")
    gpu = nvenc_available() if gpu is None else gpu
    partial = out.with_name(out.stem + ".part.mp4")
    out.parent.mkdir(parents=True, exist_ok=True)
    fade_out = max(0.0, duration - FADE_SECONDS)
    picture = (
        f"fps={CLIP_FPS},"
        f"scale=w='if(gte(iw,ih),-2,min(iw,{CLIP_MAX_SIDE}))':h='if(gte(iw,ih),min(ih,{CLIP_MAX_SIDE}),-2)',"
        "pad=ceil(iw/2)*2:ceil(ih/2)*2,format=yuv420p"
    )
    sound = (
        f"{LOUDNESS},aresample={AUDIO_RATE},afade=t=in:d={FADE_SECONDS},afade=t=out:st={fade_out:.3f}:d={FADE_SECONDS}"
    )
    command = [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    if gpu:
        command += ["-hwaccel", "cuda"]
    command += ["-ss", f"{start:.3f}", "-i", str(source)]
    if has_audio:
        audio_input = "0:a:0"
    else:
        command += ["-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE}:cl=stereo"]
        audio_input = "1:a:0"
    command += [
        "-t", f"{duration:.3f}", "-map", "0:v:0", "-map", audio_input,
        "-vf", picture, "-af", sound, "-fps_mode", "cfr", "-g", str(CLIP_FPS * 2),
        *_video_encoder(gpu),
        "-c:a", "aac", "-b:a", "128k", "-ar", str(AUDIO_RATE), "-ac", "2",
        "-movflags", "+faststart", "-f", "mp4", str(partial),
    ]  # fmt: skip
    with written_whole(out, partial):
        _run(command, f"cut {start:.2f}-{start + duration:.2f} s of {source.name}", partial)
    return out


def extract_thumbnail(clip: Path, out: Path, *, second: float, height: int = 180) -> Path:
    """One JPEG frame of `clip` at `second`, `height` pixels high."""
    partial = out.with_name(out.stem + ".part.jpg")
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [
        ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-ss", f"{max(0.0, second):.3f}", "-i", str(clip), "-frames:v", "1",
        "-vf", f"scale=-2:{height}", "-q:v", "4", "-f", "image2", str(partial),
    ]  # fmt: skip
    with written_whole(out, partial):
        _run(command, f"take a thumbnail of {clip.name}", partial)
        if not partial.exists():
            raise FfmpegError(f"ffmpeg could not take a thumbnail of {clip.name} at {second:.2f} s: no frame there")
    return out


# -- rendering the schedule -------------------------------------------------------------------


def _filter_text(text: str) -> str:
    """Text for drawtext's `text=` option: its own separators escaped."""
    return text.replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'").replace("%", "\\%")


def render_sequence(pieces: list[tuple[Path | None, float, float]], out: Path, *, size: tuple[int, int],
                    card_text: str, font: str | None, segment_seconds: float | None = None,
                    preset: str = "veryfast", gpu: bool | None = None) -> list[Path]:  # fmt: skip
    """Play pieces (file or None for a card, from, length) one after another into one stream of
    `size`, every piece exactly its length (a clip that ends early holds its last frame, sound is
    padded with silence); a card is dark with `card_text` on it. Writes MPEG-TS: one file `out`, or
    with `segment_seconds`, files out.stem-00.ts, -01.ts, ... each starting on a keyframe.
    Returns the files written; they appear whole or not at all."""
    width, height = size
    inputs: list[str] = []
    graph: list[str] = []
    labels: list[str] = []
    index = 0
    for number, (path, start, length) in enumerate(pieces):
        if path is None:
            inputs += ["-f", "lavfi", "-t", f"{length:.3f}", "-i", f"color=c=0x111111:s={width}x{height}:r={CLIP_FPS}"]
            inputs += ["-f", "lavfi", "-t", f"{length:.3f}", "-i", f"anullsrc=r={AUDIO_RATE}:cl=stereo"]
            text = ""
            if font:
                text = (
                    f"drawtext=fontfile='{font}':text='{_filter_text(card_text)}':fontcolor=white:"
                    f"fontsize={height // 5}:x=(w-tw)/2:y=(h-th)/2,"
                )
            graph.append(f"[{index}:v]{text}setsar=1,format=yuv420p[v{number}]")
            graph.append(f"[{index + 1}:a]aformat=sample_rates={AUDIO_RATE}:channel_layouts=stereo[a{number}]")
            index += 2
        else:
            inputs += ["-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(path)]
            graph.append(
                f"[{index}:v]fps={CLIP_FPS},scale={width}:{height}:force_original_aspect_ratio=decrease,"
                f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p,"
                f"tpad=stop_mode=clone:stop_duration={length:.3f},trim=duration={length:.3f},setpts=PTS-STARTPTS[v{number}]"
            )
            graph.append(
                f"[{index}:a]aresample={AUDIO_RATE},aformat=sample_rates={AUDIO_RATE}:channel_layouts=stereo,"
                f"apad,atrim=duration={length:.3f},asetpts=PTS-STARTPTS[a{number}]"
            )
            index += 1
        labels.append(f"[v{number}][a{number}]")
    # Sound ends on a whole AAC frame (1024 samples) no later than the picture: pieces rendered
    # one after another (HLS minutes, export parts) then never overlap in time.
    total = sum(length for _, _, length in pieces)
    whole_frames = int(total * AUDIO_RATE) // 1024 * 1024
    graph.append(f"{''.join(labels)}concat=n={len(pieces)}:v=1:a=1[v][joined]")
    graph.append(f"[joined]atrim=end_sample={whole_frames}[a]")
    encoder = _video_encoder(nvenc_available() if gpu is None else gpu, preset=preset, crf=23)
    command = [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *inputs,
               "-filter_complex", ";".join(graph), "-map", "[v]", "-map", "[a]", *encoder, "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-b:a", "128k", "-ar", str(AUDIO_RATE), "-ac", "2"]  # fmt: skip
    staging = out.parent / f".{out.stem}.part"
    staging.mkdir(parents=True, exist_ok=True)
    if segment_seconds:
        command += ["-force_key_frames", f"expr:gte(t,n_forced*{segment_seconds})", "-f", "segment",
                    "-segment_time", str(segment_seconds), "-segment_format", "mpegts", "-reset_timestamps", "0",
                    str(staging / f"{out.stem}-%02d.ts")]  # fmt: skip
    else:
        command += ["-f", "mpegts", str(staging / out.name)]
    try:
        _run(command, f"render {out.name}", staging / out.name)
        written = []
        for part in sorted(staging.iterdir()):
            part.replace(out.parent / part.name)
            written.append(out.parent / part.name)
        return written
    finally:
        for leftover in staging.glob("*"):
            leftover.unlink(missing_ok=True)
        staging.rmdir()


def concat_to_mp4(parts: list[Path], out: Path) -> Path:
    """Join MPEG-TS parts rendered alike (see render_sequence) into one MP4, without re-encoding."""
    listing = out.with_name(f".{out.stem}.parts.txt")
    listing.write_text("".join(f"file '{part.resolve()}'\n" for part in parts))
    partial = out.with_name(f".{out.stem}.part.mp4")
    command = [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "concat", "-safe", "0",
               "-i", str(listing), "-c", "copy", "-movflags", "+faststart", str(partial)]  # fmt: skip
    try:
        with written_whole(out, partial):
            _run(command, f"join the parts of {out.name}", partial)
    finally:
        listing.unlink(missing_ok=True)
    return out
