"""How a dial lies in a crop (read/dial_geometry), and an oblique dial decoded as it is seen."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pipeline.read.decode import cyclic_soft_label, decode_joint
from pipeline.read.dial_geometry import local_map, seen_degrees, squeeze_matrix, squeeze_of, turned_squeeze


def _direction(jacobian: np.ndarray, dial_degrees: np.ndarray) -> np.ndarray:
    """Where a dial direction points through a linear map: degrees clockwise from the crop's up."""
    radians = np.radians(dial_degrees)
    moved = jacobian @ np.stack([np.sin(radians), -np.cos(radians)])
    return np.degrees(np.arctan2(moved[0], -moved[1])) % 360


def _oblique_map(ratio: float, axis_degrees: float, tilt_degrees: float, scale: float = 0.8) -> np.ndarray:
    """A dial turned clockwise by the tilt, then squeezed by `ratio` across the axis, then scaled."""
    axis, tilt = np.radians(axis_degrees), np.radians(tilt_degrees)
    v = np.array([np.cos(axis), np.sin(axis)])
    squeeze = np.eye(2) - (1 - ratio) * np.outer(v, v)
    # Clockwise on screen (y down) is the usual counter-clockwise matrix.
    turn = np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])
    return scale * squeeze @ turn


def test_the_squeeze_vector_is_zero_face_on_and_says_ratio_and_axis_when_oblique():
    assert np.allclose(squeeze_of(_oblique_map(1.0, 30, 12)), (0, 0), atol=1e-9)
    a, b = squeeze_of(_oblique_map(0.6, 30, 12))
    assert np.hypot(a, b) == pytest.approx(0.4)
    assert np.degrees(np.arctan2(b, a)) / 2 == pytest.approx(30)


@pytest.mark.parametrize(("ratio", "axis", "tilt"), [(0.6, 30, 12), (0.85, 100, -20), (0.5, 0, 0), (1.0, 45, 8)])
def test_a_turned_squeezed_dial_shows_its_directions_where_the_squeeze_and_tilt_put_them(ratio, axis, tilt):
    jacobian = _oblique_map(ratio, axis, tilt)
    dial = np.array([0.0, 45.0, 90.0, 137.0, 222.0, 300.0])
    expected = _direction(jacobian, dial)
    assert np.allclose(seen_degrees(squeeze_matrix(squeeze_of(jacobian)), dial + tilt), expected, atol=1e-6)


def test_the_squeeze_of_a_turned_crop_turns_back_to_the_crops_own():
    jacobian = _oblique_map(0.7, 65, 5)
    for degrees in (-10.0, 10.0, 33.0):
        # reader.turn turns a crop counter-clockwise on screen with this matrix.
        turn = cv2.getRotationMatrix2D((0.0, 0.0), degrees, 1.0)[:, :2]
        seen_turned = np.array(squeeze_of(turn @ jacobian))
        assert np.allclose(turned_squeeze(seen_turned[None], degrees)[0], squeeze_of(jacobian), atol=1e-9)


def test_the_local_map_of_a_homography_is_its_derivative():
    homography = np.array([[1.1, 0.2, 5.0], [-0.1, 0.9, 3.0], [0.001, -0.002, 1.0]])
    point, step = (40.0, 25.0), 1e-4

    def apply(x: float, y: float) -> np.ndarray:
        moved = homography @ np.array([x, y, 1.0])
        return moved[:2] / moved[2]

    numeric = np.stack([(apply(point[0] + step, point[1]) - apply(*point)) / step,
                        (apply(point[0], point[1] + step) - apply(*point)) / step], axis=1)  # fmt: skip
    assert np.allclose(local_map(homography, point), numeric, atol=1e-3)
    affine = homography[:2]
    assert np.array_equal(local_map(affine, point), affine[:, :2])


def test_an_oblique_dial_is_read_right_only_with_its_squeeze():
    # 4:37 on a dial turned 9 degrees and seen from the side (squeezed to 0.6 across 20 degrees):
    # the heads say where each hand and the 12 point in the crop.
    jacobian = _oblique_map(0.6, 20, 9)
    minute_seen, hour_seen, up_seen = _direction(jacobian, np.array([37 * 6.0, 4 * 30 + 37 * 0.5, 0.0]))
    minute = cyclic_soft_label(minute_seen * 60 / 360, 60, 0.6)
    hour_hand = cyclic_soft_label(hour_seen * 120 / 360, 120, 1.0)
    up = cyclic_soft_label(up_seen * 120 / 360, 120, 1.0)
    squeeze = np.array(squeeze_of(jacobian))
    with_squeeze = decode_joint(minute, hour_hand, None, up, squeeze)
    assert (with_squeeze.hour, with_squeeze.minute) == (4, 37)
    as_a_turned_circle = decode_joint(minute, hour_hand, None, up)
    assert (as_a_turned_circle.hour, as_a_turned_circle.minute) != (4, 37)


def test_a_squeeze_no_ratio_can_give_is_kept_in_bounds():
    stretch = squeeze_matrix((3.0, 4.0))  # a network's wild guess: "ratio -4"
    assert np.all(np.linalg.eigvalsh(stretch) > 0.19)
