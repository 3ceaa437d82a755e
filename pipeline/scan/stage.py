"""The scan stage: one pass over a video finds its shots, its clocks and the times they show.

Frames are sampled sequentially; each batch goes through the detector, and every detected
clock is read at once, so only per-detection readings are kept, never frames: memory stays
bounded whatever the video's length. Detections are then linked into sightings (never across
a shot change) and each sighting gets one fitted time, or a reason why it has none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline.frames import Frame, FrameReadError, sample_frames
from pipeline.read.fit import Disagreement, FittedTime, FrameReading, fit_time
from pipeline.read.reader import Reading
from pipeline.scan.shots import ShotDetector
from pipeline.scan.tracking import Detection, Sighting, link_detections


class Detector(Protocol):
    def find(self, frames: list[np.ndarray]) -> list[list]: ...


class Reader(Protocol):
    def read_clocks(self, images: list[np.ndarray], boxes: list) -> list[Reading]: ...


@dataclass(frozen=True)
class ScanOptions:
    samples_per_second: float = 2.0
    batch_size: int = 16
    # Frames are scaled down to this longer side before detection; detectors work at 320-640 anyway.
    max_side: int = 960
    min_detections: int = 2
    # A reading below this confidence does not vote in the fit.
    min_reading_confidence: float = 0.2
    # First look at keyframes only (cheap: no other frame is decoded); a video with no clock on
    # any keyframe is not scanned further. Faster on long clockless videos; may miss brief clocks.
    keyframe_prepass: bool = False


@dataclass(frozen=True)
class ScannedSighting:
    sighting: Sighting
    kind: str
    readings: tuple[FrameReading, ...]
    fitted: FittedTime | None
    rejection: str | None
    # How most frames were read: "analog_model", "analog_geometry" or "digital".
    method: str = ""


@dataclass(frozen=True)
class ScanResult:
    frames: int
    seconds_scanned: float
    shot_boundaries: tuple[float, ...]
    sightings: tuple[ScannedSighting, ...]
    # Set when the video could not be read to its end; what was read is still in the result.
    error: str | None = None
    detections: int = 0


def scan_video(path: Path, *, detector: Detector, reader: Reader, options: ScanOptions | None = None,
               progress: Callable[[float], None] | None = None) -> ScanResult:  # fmt: skip
    options = options or ScanOptions()
    if options.keyframe_prepass and not _any_clock_on_keyframes(path, detector, options):
        return ScanResult(frames=0, seconds_scanned=0.0, shot_boundaries=(), sightings=())
    shots = ShotDetector()
    per_frame: list[tuple[float, list[Detection]]] = []
    reading_of: dict[Detection, Reading] = {}
    frames_seen = 0
    last_second = 0.0
    error = None
    batch: list[Frame] = []

    def flush() -> None:
        found = detector.find([frame.image for frame in batch])
        images, owners = [], []
        for frame, clocks in zip(batch, found, strict=True):
            detections = [Detection(frame.second, clock.box, clock.confidence) for clock in clocks]
            per_frame.append((frame.second, detections))
            for detection in detections:
                images.append(frame.image)
                owners.append(detection)
        readings = reader.read_clocks(images, [detection.box for detection in owners])
        for detection, reading in zip(owners, readings, strict=True):
            reading_of[detection] = reading
        batch.clear()

    try:
        # A sample a few frames late reads the same clock; skipping the unreferenced frames is what
        # keeps the scan at half ffmpeg's decoding speed on 2 cores (bench/scan.py).
        for frame in sample_frames(path, per_second=options.samples_per_second, max_side=options.max_side,
                                   reference_frames_only=True):  # fmt: skip
            shots.update(frame)
            batch.append(frame)
            frames_seen += 1
            last_second = frame.second
            if len(batch) >= options.batch_size:
                flush()
                if progress is not None:
                    progress(last_second)
    except FrameReadError as failure:
        if frames_seen == 0:
            raise  # nothing could be read at all: the video fails, there is nothing to keep
        error = str(failure)
    if batch:
        flush()

    sightings = link_detections(per_frame, shot_boundaries=shots.boundaries, min_detections=options.min_detections)
    scanned = tuple(_fit_sighting(sighting, reading_of, options) for sighting in sightings)
    return ScanResult(
        frames=frames_seen,
        seconds_scanned=last_second,
        shot_boundaries=tuple(shots.boundaries),
        sightings=scanned,
        error=error,
        detections=len(reading_of),
    )


def _any_clock_on_keyframes(path: Path, detector: Detector, options: ScanOptions) -> bool:
    batch: list[np.ndarray] = []
    try:
        for frame in sample_frames(path, keyframes_only=True, max_side=options.max_side):
            batch.append(frame.image)
            if len(batch) >= options.batch_size:
                if any(detector.find(batch)):
                    return True
                batch.clear()
    except FrameReadError:
        return True  # let the full pass report the damage
    return bool(batch) and any(detector.find(batch))


def _fit_sighting(sighting: Sighting, reading_of: dict[Detection, Reading], options: ScanOptions) -> ScannedSighting:
    # Every detection was read as its batch went by.
    readings = [(detection, reading_of[detection]) for detection in sighting.detections]
    kind = Counter(reading.kind for _, reading in readings).most_common(1)[0][0] if readings else "unknown"
    method = Counter(reading.method for _, reading in readings).most_common(1)[0][0] if readings else ""
    votes = tuple(
        FrameReading(detection.second, reading.hour, reading.minute, reading.confidence, reading.meridiem)
        for detection, reading in readings
        if reading.confidence >= options.min_reading_confidence
    )
    try:
        fitted = fit_time(list(votes))
    except Disagreement as disagreement:
        return ScannedSighting(sighting, kind, votes, None, str(disagreement), method)
    return ScannedSighting(sighting, kind, votes, fitted, None, method)
