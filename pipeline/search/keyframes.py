"""Which frames of a video to embed for search: keyframes spread over every shot, so that the
whole video can be found, not only the moments around its clocks."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np

from pipeline.frames import sample_frames


def keyframe_times(
    duration: float, shot_boundaries: list[float] | tuple[float, ...], every: float = 10.0
) -> list[float]:
    """The middle of each shot, and in a shot longer than `every`, one frame per `every` seconds."""
    if duration <= 0:
        return []
    cuts = [0.0, *sorted(cut for cut in shot_boundaries if 0 < cut < duration), duration]
    times: list[float] = []
    for start, end in pairwise(cuts):
        length = end - start
        if length <= 0:
            continue
        count = max(1, int(length // every))
        step = length / count
        times += [round(start + step * (index + 0.5), 3) for index in range(count)]
    return times


def frames_near(path: Path, times: list[float], *, per_second: float = 2.0,
                max_side: int = 640) -> Iterator[tuple[float, np.ndarray]]:  # fmt: skip
    """For each wanted time (in order), the sampled frame nearest to it, as (time, RGB image), in
    one sequential pass (no seek per frame)."""
    wanted = sorted(times)
    if not wanted:
        return
    index = 0
    previous = None
    for frame in sample_frames(path, per_second=per_second, max_side=max_side):
        while index < len(wanted) and frame.second >= wanted[index]:
            # This frame or the one before, whichever is nearer.
            if previous is not None and wanted[index] - previous.second < frame.second - wanted[index]:
                yield wanted[index], previous.image
            else:
                yield wanted[index], frame.image
            index += 1
        if index == len(wanted):
            return
        previous = frame
    for time in wanted[index:]:  # past the last frame read: the last frame
        if previous is not None:
            yield time, previous.image
