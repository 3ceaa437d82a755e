"""Scan speed: the realtime factor of scanning a 720p H.264 file at 1 sample per second, divided by
the realtime factor of `ffmpeg -i FILE -f null -` on the same file, in the same run, with the
detector settings choose (named in the output), and that detector's own speed: 720p frames per
second through `find` alone, in batches of 16. Prints one JSON object.

Target: a ratio of at least 0.5 on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clockweb.settings")


def make_test_file(path: Path, seconds: int) -> None:
    from pipeline.ffmpeg import ffmpeg_binary

    subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc2=size=1280x720:rate=30:duration={seconds}", "-c:v", "libx264", "-preset", "veryfast",
         "-pix_fmt", "yuv420p", "-g", "60", str(path)],
        check=True,
    )  # fmt: skip


def ffmpeg_decode_seconds(path: Path) -> float:
    from pipeline.ffmpeg import ffmpeg_binary

    started = time.perf_counter()
    subprocess.run([ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-f", "null", "-"],
                   check=True)  # fmt: skip
    return time.perf_counter() - started


def detector_images_per_second(detector: object, path: Path, count: int = 32) -> float:
    """Frames of the file per second through the detector alone (decoded first, batches of 16)."""
    import av

    with av.open(str(path)) as container:
        decoded = container.decode(video=0)
        frames = [frame.to_ndarray(format="rgb24") for _, frame in zip(range(count), decoded, strict=False)]
    started = time.perf_counter()
    for start in range(0, len(frames), 16):
        detector.find(frames[start : start + 16])
    return len(frames) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60, help="length of the generated 720p test video")
    parser.add_argument("--file", type=Path, help="scan this file instead of a generated one")
    args = parser.parse_args()

    import django

    django.setup()
    from catalog.ml import clock_detector, scan_models
    from pipeline.ingest.probe import probe_video
    from pipeline.scan.stage import ScanOptions, scan_video

    with tempfile.TemporaryDirectory() as scratch:
        path = args.file or Path(scratch) / "bench-720p.mp4"
        if args.file is None:
            make_test_file(path, args.seconds)
        duration = probe_video(path).duration_seconds
        detector, reader = scan_models()
        _, choice = clock_detector()
        detector.find([__import__("numpy").zeros((720, 1280, 3), "uint8")])  # warm up outside the timing
        detector_speed = detector_images_per_second(detector, path)
        ffmpeg_seconds = ffmpeg_decode_seconds(path)
        started = time.perf_counter()
        result = scan_video(path, detector=detector, reader=reader, options=ScanOptions(samples_per_second=1.0))
        scan_seconds = time.perf_counter() - started
    ffmpeg_rtf = duration / ffmpeg_seconds
    scan_rtf = duration / scan_seconds
    print(json.dumps({
        "benchmark": "scan", "video_seconds": round(duration, 2), "samples_per_second": 1.0,
        "device": detector.device, "cpus": os.cpu_count(),
        "detector": choice.kind, "detector_weights": choice.weights, "second_look": choice.second_look,
        "tiles": choice.tiles, "detector_image_size": detector.image_size,
        "detector_images_per_second": round(detector_speed, 2),
        "ffmpeg_realtime_factor": round(ffmpeg_rtf, 2), "scan_realtime_factor": round(scan_rtf, 2),
        "ratio": round(scan_rtf / ffmpeg_rtf, 3), "target_ratio": 0.5, "frames_scanned": result.frames,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
