"""How a dial lies in a crop: turned in the picture's plane, and squeezed when seen from the side.

Near its centre, any view of a flat dial (a photograph's perspective included) is a linear map
J of the upright dial. J splits into a turn and a symmetric stretch (its polar decomposition,
J = P U): the turn is the dial's tilt, which the reader's `up` head finds, and the stretch, scaled
so that its larger axis is 1, is the squeeze of an oblique view: a circle seen as an ellipse,
shortened by the ratio r across the axis at angle φ (radians from the crop's x axis, towards its
y axis, which points down). The squeeze is kept as one vector, (1 - r)(cos 2φ, sin 2φ): zero for
a dial seen face on, with no jump where φ wraps around, so a network can regress it.

Read as a turned circle, an oblique dial's hands are a minute or two off: the ellipse moves every
direction but its two axes (bench/reader_geometry.py measures what it costs).
"""

from __future__ import annotations

import numpy as np


def local_map(homography: np.ndarray, point: tuple[float, float]) -> np.ndarray:
    """The 2 x 2 Jacobian of a 3 x 3 homography (or a 2 x 3 affine map) at a point: how it maps
    small offsets there."""
    if homography.shape == (2, 3):
        return np.asarray(homography[:, :2], np.float64)
    mapped = homography @ np.array([point[0], point[1], 1.0])
    return (homography[:2, :2] * mapped[2] - np.outer(mapped[:2], homography[2, :2])) / mapped[2] ** 2


def squeeze_of(jacobian: np.ndarray) -> tuple[float, float]:
    """The squeeze vector of a local map: (1 - r)(cos 2φ, sin 2φ)."""
    left, singular, _ = np.linalg.svd(jacobian)
    ratio = float(singular[1] / max(singular[0], 1e-12))
    # The stretch P = W Σ Wᵀ shortens most along W's second column.
    axis = float(np.arctan2(left[1, 1], left[0, 1]))
    return (1 - ratio) * float(np.cos(2 * axis)), (1 - ratio) * float(np.sin(2 * axis))


def squeeze_vector(ratio: float, short_axis: float) -> np.ndarray:
    """The squeeze vector of a dial shortened to `ratio` across the axis at `short_axis` radians
    from the crop's x axis towards its y axis: (1 - r)(cos 2φ, sin 2φ)."""
    return (1 - ratio) * np.array([np.cos(2 * short_axis), np.sin(2 * short_axis)])


def squeeze_matrix(squeeze: tuple[float, float] | np.ndarray) -> np.ndarray:
    """The stretch of a squeeze vector, larger axis 1: I - (1 - r) v vᵀ, v the short axis."""
    a, b = float(squeeze[0]), float(squeeze[1])
    # A network's guess may fall outside what a ratio in (0, 1] gives: keep the ratio above 0.2.
    amount = min(float(np.hypot(a, b)), 0.8)
    if amount == 0:
        return np.eye(2)
    scale = amount / max(float(np.hypot(a, b)), 1e-12)
    a, b = a * scale, b * scale
    return np.array([[1 - (amount + a) / 2, -b / 2], [-b / 2, 1 - (amount - a) / 2]])


def turned_squeeze(squeeze: np.ndarray, degrees: float) -> np.ndarray:
    """Squeeze vectors (rows) of a crop turned `degrees` counter-clockwise on screen, turned back
    to the crop itself: the axis moves with the turn, and the vector, at twice its angle, twice."""
    radians = np.radians(2 * degrees)
    # On screen with y down, a counter-clockwise turn lowers φ; turning back raises it again.
    cos, sin = np.cos(radians), np.sin(radians)
    rotation = np.array([[cos, -sin], [sin, cos]])
    return np.asarray(squeeze) @ rotation.T


def seen_degrees(stretch: np.ndarray, dial_degrees: np.ndarray) -> np.ndarray:
    """Where directions of a dial turned to `dial_degrees` (clockwise from the crop's up, before
    the squeeze) point once squeezed by `stretch`: degrees clockwise from the crop's up."""
    radians = np.radians(dial_degrees)
    x, y = np.sin(radians), -np.cos(radians)
    seen_x = stretch[0, 0] * x + stretch[0, 1] * y
    seen_y = stretch[1, 0] * x + stretch[1, 1] * y
    return np.degrees(np.arctan2(seen_x, -seen_y)) % 360
