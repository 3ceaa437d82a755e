"""Sightings: per-frame clock detections linked over time into the stretches where one clock is seen.

Linking is greedy, frame to frame, by box overlap (IoU). At a few samples a second a clock on
screen barely moves between samples, and cuts are handled separately (a sighting always ends at a
shot boundary), so this is enough; a motion model or appearance features would buy little here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import fmean

from pipeline.geometry import Box
from pipeline.scan.shots import shot_index

# Seconds are compared after arithmetic on sample times (0.5 + 1.5 may not be exactly 2.0).
_SECONDS_SLACK = 1e-9


@dataclass(frozen=True)
class Detection:
    second: float
    box: Box
    confidence: float


@dataclass(frozen=True)
class Sighting:
    """One clock, tracked through part of one shot."""

    start_second: float
    end_second: float
    detections: tuple[Detection, ...]

    @property
    def confidence(self) -> float:
        """The detector's mean confidence over the sighting."""
        return fmean(detection.confidence for detection in self.detections)

    def box_track(self) -> list[list[float]]:
        """[[second, x, y, width, height, confidence], ...]: plain lists, ready for a JSON field."""
        return [
            [detection.second, detection.box.x, detection.box.y, detection.box.width, detection.box.height,
             detection.confidence]
            for detection in self.detections
        ]  # fmt: skip


@dataclass
class _Track:
    """A sighting still being built; mutable, and never leaves this module."""

    shot: int
    detections: list[Detection] = field(default_factory=list)

    @property
    def last(self) -> Detection:
        return self.detections[-1]

    def to_sighting(self) -> Sighting:
        return Sighting(
            start_second=self.detections[0].second,
            end_second=self.last.second,
            detections=tuple(self.detections),
        )


def link_detections(
    detections_by_frame: Iterable[tuple[float, list[Detection]]],
    *,
    shot_boundaries: list[float],
    min_iou: float = 0.3,
    max_gap_seconds: float = 1.5,
    min_detections: int = 2,
) -> list[Sighting]:
    """Link each frame's detections to the tracks open from earlier frames, and return the sightings.

    detections_by_frame gives (second, detections) for every sampled frame, in time order, including
    frames with no detections. A track takes, in order of decreasing IoU, the unclaimed detection
    that overlaps its last box by at least min_iou. It ends when it has gone more than
    max_gap_seconds without one, and always at a shot boundary. Tracks with fewer than
    min_detections detections are dropped as likely false detections. Sightings come sorted by start.
    """
    boundaries = sorted(shot_boundaries)
    open_tracks: list[_Track] = []
    finished: list[_Track] = []
    previous_second: float | None = None

    for second, detections in detections_by_frame:
        if previous_second is not None and second < previous_second:
            raise ValueError(f"frames must come in time order: {second} came after {previous_second}")
        previous_second = second
        shot = shot_index(boundaries, second)

        still_open: list[_Track] = []
        for track in open_tracks:
            gap = second - track.last.second
            if track.shot != shot or gap > max_gap_seconds + _SECONDS_SLACK:
                finished.append(track)
            else:
                still_open.append(track)
        open_tracks = still_open

        claimed = _match(open_tracks, detections, min_iou=min_iou)
        for track_number, detection_number in claimed:
            open_tracks[track_number].detections.append(detections[detection_number])
        claimed_detections = {detection_number for _, detection_number in claimed}
        for detection_number, detection in enumerate(detections):
            if detection_number not in claimed_detections:
                open_tracks.append(_Track(shot=shot, detections=[detection]))

    finished.extend(open_tracks)
    sightings = [track.to_sighting() for track in finished if len(track.detections) >= min_detections]
    return sorted(sightings, key=lambda sighting: (sighting.start_second, sighting.end_second))


def _match(tracks: list[_Track], detections: list[Detection], *, min_iou: float) -> list[tuple[int, int]]:
    """Greedy assignment: (track number, detection number) pairs, best overlap first, each used once."""
    pairs = [
        (track.last.box.iou(detection.box), track_number, detection_number)
        for track_number, track in enumerate(tracks)
        for detection_number, detection in enumerate(detections)
    ]
    # Ties go to the older track and the earlier detection, so the result never depends on set order.
    pairs.sort(key=lambda pair: (-pair[0], pair[1], pair[2]))
    used_tracks: set[int] = set()
    used_detections: set[int] = set()
    matches: list[tuple[int, int]] = []
    for overlap, track_number, detection_number in pairs:
        if overlap < min_iou or overlap == 0.0:  # boxes that do not touch are never the same clock
            break
        if track_number in used_tracks or detection_number in used_detections:
            continue
        used_tracks.add(track_number)
        used_detections.add(detection_number)
        matches.append((track_number, detection_number))
    return matches
