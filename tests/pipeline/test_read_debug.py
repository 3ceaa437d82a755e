"""The debug picture of a reading (read_clock --debug): an oblique dial drawn as the network sees it."""

from __future__ import annotations

import numpy as np

from pipeline.read.debug import draw_reading


def _white(image: np.ndarray) -> np.ndarray:
    return np.all(image > 200, axis=2)


def test_a_squeezed_dial_is_drawn_as_an_ellipse_and_a_round_one_without_a_rim():
    crop = np.zeros((112, 112, 3), np.uint8)
    up = np.zeros(120)
    up[0] = 1.0
    round_dial = draw_reading(crop, 3, 0, "", None, None, up)
    # (0.5, 0): shortened to half across the crop's x axis.
    oblique = draw_reading(crop, 3, 0, "", None, None, up, np.array([0.5, 0.0]))
    assert not _white(round_dial[40:, :]).any(), "no rim without a squeeze"
    ys, xs = np.nonzero(_white(oblique[40:, :]))  # below the label
    width, height = xs.max() - xs.min(), ys.max() - ys.min() + 40
    assert 0.4 < width / height < 0.65


def test_the_hands_are_squeezed_with_the_dial():
    crop = np.zeros((112, 112, 3), np.uint8)
    up = np.zeros(120)
    up[0] = 1.0
    # 1:30 on a dial squeezed to half across x: the minute hand still points straight down, and
    # the hour hand, at 45 degrees on the dial, is drawn at atan(0.5) from up, about 27 degrees.
    picture = draw_reading(crop, 1, 30, "", None, None, up, np.array([0.5, 0.0]))
    red = (picture[..., 0] > 200) & (picture[..., 1] < 120) & (picture[..., 2] < 120)
    ys, xs = np.nonzero(red)
    far = int(np.argmax(np.hypot(xs - 192, ys - 192)))
    degrees = np.degrees(np.arctan2(xs[far] - 192, 192 - ys[far]))
    assert 22 < degrees < 33
