"""A picture of what the reader saw: the crop it read, the hands it found, and where each hand
head put its probability, for `read_clock --debug OUT.png`."""

from __future__ import annotations

import math

import cv2
import numpy as np

from pipeline.read.dial_geometry import seen_degrees, squeeze_matrix

_SIDE = 384


def _point(centre: float, radius: float, degrees: float) -> tuple[int, int]:
    angle = math.radians(degrees)
    return round(centre + radius * math.sin(angle)), round(centre - radius * math.cos(angle))


def draw_reading(crop: np.ndarray, hour: int, minute: int, label: str,
                 minute_probabilities: np.ndarray | None = None,
                 hour_hand_probabilities: np.ndarray | None = None,
                 up_probabilities: np.ndarray | None = None,
                 squeeze: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """The RGB crop enlarged, the read hands drawn from its centre (minute long and blue, hour
    short and red), each head's distribution as a ring of ticks around it, and the reading. With
    the tilt head's distribution, the dial's 12 is drawn too (green), and the hands turned with it;
    with the squeeze, the dial's rim as the network sees it (white) and the hands squeezed with it."""
    image = cv2.resize(crop, (_SIDE, _SIDE), interpolation=cv2.INTER_NEAREST)
    image = (image * 0.75).astype(np.uint8)  # dimmed, so the drawing stands out
    centre = _SIDE / 2
    rings = ((minute_probabilities, 0.47, (60, 140, 255)), (hour_hand_probabilities, 0.40, (255, 70, 70)),
             (up_probabilities, 0.33, (80, 220, 80)))  # fmt: skip
    for probabilities, radius, colour in rings:
        if probabilities is None:
            continue
        peak = float(probabilities.max()) or 1.0
        for index, probability in enumerate(probabilities):
            degrees = index * 360 / len(probabilities)
            length = 0.06 * _SIDE * float(probability) / peak
            if length >= 1:
                cv2.line(image, _point(centre, radius * _SIDE, degrees),
                         _point(centre, radius * _SIDE + length, degrees), colour, 2)  # fmt: skip
    up = 0.0 if up_probabilities is None else float(np.argmax(up_probabilities)) * 360 / len(up_probabilities)
    stretch = np.eye(2) if squeeze is None else squeeze_matrix(squeeze)
    # The dial's tilt: the turn that, squeezed, points its 12 where the up head found it.
    turns = np.arange(0.0, 360.0, 0.5)
    tilt = float(turns[np.argmin(np.abs((seen_degrees(stretch, turns) - up + 180) % 360 - 180))])
    minute_degrees, hour_degrees = seen_degrees(stretch, np.array([minute * 6, (hour % 12) * 30 + minute * 0.5]) + tilt)
    middle = (round(centre), round(centre))
    if squeeze is not None:
        rim = stretch @ np.stack([np.sin(np.radians(turns)), -np.cos(np.radians(turns))]) * 0.45 * _SIDE
        cv2.polylines(image, [np.round(rim.T + centre).astype(np.int32)], True, (235, 235, 235), 1, cv2.LINE_AA)
    if up_probabilities is not None:
        cv2.line(image, middle, _point(centre, 0.30 * _SIDE, up), (80, 220, 80), 1, cv2.LINE_AA)
    cv2.line(image, middle, _point(centre, 0.36 * _SIDE, minute_degrees), (60, 140, 255), 3, cv2.LINE_AA)
    cv2.line(image, middle, _point(centre, 0.22 * _SIDE, hour_degrees), (255, 70, 70), 5, cv2.LINE_AA)
    cv2.putText(image, label, (8, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2, cv2.LINE_AA)
    return image
