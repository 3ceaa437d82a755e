"""An oblique dial found in its crop, and the crop turned face on.

A round dial seen from the side is an ellipse. The hand reader learned dials seen face on or
nearly (its training squeezes them to 0.7 at most), and it reads the hands' directions as they
lie in the crop: on a dial squeezed to 0.6 the directions are minutes off and the reader is
confidently wrong (bench/real_damage's `oblique`: the real split read 0.28 there, against 0.85
face on). The dial's rim, and the rings of its ticks and numerals, are concentric ellipses of
the same shape: fitted, they say how the dial is squeezed, and stretching the crop back along the
short axis shows the dial face on again, as the reader learned it.

The fit is RANSAC around OpenCV's least-squares `fitEllipse` (OpenCV has no robust ellipse fit of
its own). Its points are the crop's edges that run across the direction to the centre, as a
rim's do (a numeral's or a hand's edges mostly do not); an ellipse must go most of the way round
the centre to count, so an arc of a numeral or of the background is not taken for the dial, and
its ring must hold clearly more edges than the rings beside it, which grain or clutter does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipeline.read.dial_geometry import squeeze_matrix, squeeze_vector

# A dial fitted narrower than FACE_ON_BELOW is read face on as well as it is, and the two
# readings' time posteriors multiplied; narrower than FACE_ON_ONLY_BELOW, past what the network
# trained on, face on alone. Measured on the real validation split (run 31, bench/real_damage;
# models/README.md): the network reads dials down to about 0.75 as they are, so face on alone
# from 0.8 or 0.9 cost film-like damaged crops of mildly oblique dials a photo or four each.
FACE_ON_BELOW = 0.8
FACE_ON_ONLY_BELOW = 0.7
# The narrowest dial the fit returns: past this, a stretch enlarges noise more than it restores.
NARROWEST = 0.4
# Share of 24 sectors around the centre the fitted ellipse's points must reach.
MIN_COVERAGE = 0.75
# The crop's dial is about this far from its centre, in units of the reader's dial radius (the
# crop's half side over its margin); the fit's points and its ellipse must lie about there.
_POINTS_FROM, _POINTS_TO = 0.4, 1.2
_LONG_AXIS_FROM, _LONG_AXIS_TO = 0.45, 1.25
_MAX_CENTRE_OFFSET = 0.2
# An edge counts as running across the ray from the centre within this angle. An ellipse's normal
# leans off the ray by up to about 30 degrees at a squeeze of 0.5.
_ACROSS_THE_RAY_DEGREES = 35.0
_INLIER_PIXELS = 1.0
# The rim's ring must hold this many times the edge points of the rings this far inside and outside.
_RING_GAP_PIXELS = 8.0
_STANDS_OUT = 3.0
_TRIES = 300
_SECTORS = 24


@dataclass(frozen=True)
class DialEllipse:
    ratio: float  # short axis over long axis, NARROWEST..1
    short_axis: float  # radians from the crop's x axis towards its y axis (down)
    coverage: float  # share of sectors around the centre its points reach

    @property
    def squeeze(self) -> np.ndarray:
        """The squeeze vector of read/dial_geometry: (1 - r)(cos 2φ, sin 2φ)."""
        return squeeze_vector(self.ratio, self.short_axis)


def fit_dial_ellipse(crop: np.ndarray, margin: float) -> DialEllipse | None:
    """The ellipse of the dial in a reader's crop (dial centred, its radius about half the side
    over `margin`), or None where no ellipse goes round the centre. Deterministic."""
    if crop.ndim != 3 or min(crop.shape[:2]) < 16:
        return None
    size = crop.shape[0]
    radius = size / 2 / margin
    centre = np.array([crop.shape[1] / 2, crop.shape[0] / 2])
    gray = cv2.GaussianBlur(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), (0, 0), 1.0)
    ys, xs = np.nonzero(cv2.Canny(gray, 40, 100))
    if len(xs) < 30:
        return None
    gradient = np.stack([cv2.Sobel(gray, cv2.CV_32F, 1, 0)[ys, xs], cv2.Sobel(gray, cv2.CV_32F, 0, 1)[ys, xs]], 1)
    points = np.stack([xs, ys], 1).astype(np.float32)
    outwards = points - centre
    distance = np.hypot(outwards[:, 0], outwards[:, 1])
    across = np.abs((outwards * gradient).sum(1)) / (distance * np.hypot(gradient[:, 0], gradient[:, 1]) + 1e-6)
    keep = ((distance > _POINTS_FROM * radius) & (distance < _POINTS_TO * radius)
            & (across > np.cos(np.radians(_ACROSS_THE_RAY_DEGREES))))  # fmt: skip
    points = points[keep]
    if len(points) < 30:
        return None
    rng = np.random.default_rng(0)
    candidates = [cv2.fitEllipse(points[rng.choice(len(points), 5, replace=False)]) for _ in range(_TRIES)]
    best = _best_candidate(candidates, points, centre, radius)
    if best is None or best[1] < MIN_COVERAGE:
        return None
    inliers, coverage = best
    ellipse = cv2.fitEllipse(points[inliers])
    _, (width, height), degrees = ellipse
    if min(width, height) < NARROWEST * max(width, height) or not _stands_out(ellipse, points):
        return None
    # fitEllipse's angle is the direction of its first axis (width), from x towards y.
    short_axis = np.radians(degrees) if width < height else np.radians(degrees) + np.pi / 2
    return DialEllipse(float(min(width, height) / max(width, height)), float(short_axis % np.pi), coverage)


def _best_candidate(candidates: list[tuple], points: np.ndarray, centre: np.ndarray,
                    radius: float) -> tuple[np.ndarray, float] | None:  # fmt: skip
    """The inliers and coverage of the candidate ellipse that can be the dial with the best score
    (the first of equals). Scored all at once: a loop over them costs the most."""
    shapes = np.array([(x, y, width, height, degrees) for (x, y), (width, height), degrees in candidates])
    x, y, width, height = shapes[:, 0], shapes[:, 1], shapes[:, 2], shapes[:, 3]
    long_half, short_half = np.maximum(width, height) / 2, np.minimum(width, height) / 2
    possible = np.flatnonzero((_LONG_AXIS_FROM * radius < long_half) & (long_half < _LONG_AXIS_TO * radius)
                              & (short_half >= NARROWEST * long_half)
                              & (np.hypot(x - centre[0], y - centre[1]) <= _MAX_CENTRE_OFFSET * radius))  # fmt: skip
    if len(possible) == 0:
        return None
    inliers = np.abs(_pixels_out(shapes[possible], points)) < _INLIER_PIXELS
    # Each inlier's sector around its candidate's centre; a candidate's coverage is how many it fills.
    angles = np.arctan2(points[None, :, 1] - y[possible, None], points[None, :, 0] - x[possible, None])
    sectors = ((angles + np.pi) / (2 * np.pi) * _SECTORS).astype(int) % _SECTORS
    filled = np.zeros((len(possible), _SECTORS), bool)
    rows, columns = np.nonzero(inliers)
    filled[rows, sectors[rows, columns]] = True
    counts = inliers.sum(axis=1)
    coverage = filled.sum(axis=1) / _SECTORS
    # Points count, and going round counts more: a full ring beats a long arc.
    scores = np.where(counts >= 20, counts * coverage**2, -1.0)
    best = int(np.argmax(scores))
    if scores[best] < 0:
        return None
    return inliers[best], float(coverage[best])


def _pixels_out(shapes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """How far out from each ellipse (rows of x, y, width, height, degrees, as fitEllipse gives
    them) each point lies, about in pixels (negative inside): its distance on the ellipse's own
    scale (1 on it) times the mean half axis. One row per ellipse, one column per point."""
    x, y, width, height, turn = (shapes[:, index, None] for index in range(5))
    turn = np.radians(turn)
    dx, dy = points[None, :, 0] - x, points[None, :, 1] - y
    along = dx * np.cos(turn) + dy * np.sin(turn)
    across = -dx * np.sin(turn) + dy * np.cos(turn)
    return (np.hypot(along / (width / 2), across / (height / 2)) - 1) * (width + height) / 4


def _stands_out(ellipse: tuple, points: np.ndarray) -> bool:
    """Whether the ellipse holds clearly more edge points than the rings just inside and outside
    it: a rim does, where edges everywhere (grain, foliage, noise) put as many on any ring."""
    (x, y), (width, height), degrees = ellipse
    out = _pixels_out(np.array([[x, y, width, height, degrees]]), points)[0]
    on = np.sum(np.abs(out) < _INLIER_PIXELS)
    beside = np.sum(np.abs(np.abs(out) - _RING_GAP_PIXELS) < _INLIER_PIXELS) / 2
    return bool(on >= _STANDS_OUT * max(beside, 1.0))


def face_on(crop: np.ndarray, ellipse: DialEllipse) -> np.ndarray:
    """The crop stretched about its centre along the dial's short axis, so that the dial is round."""
    return warp_about_centre(crop, np.linalg.inv(squeeze_matrix(ellipse.squeeze)))


def warp_about_centre(image: np.ndarray, linear: np.ndarray) -> np.ndarray:
    """The image mapped by a 2 x 2 linear map about its centre, the same size; the corners filled
    from its edge."""
    height, width = image.shape[:2]
    middle = np.array([width / 2, height / 2])
    matrix = np.hstack([linear, (middle - linear @ middle)[:, None]])
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def oblique_views(crop: np.ndarray, margin: float) -> tuple[np.ndarray, bool]:
    """The crop the reader should read (face on where its dial is fitted narrower than
    FACE_ON_BELOW), and whether the crop as it is should be read beside it."""
    ellipse = fit_dial_ellipse(crop, margin)
    if ellipse is None or ellipse.ratio >= FACE_ON_BELOW:
        return crop, False
    return face_on(crop, ellipse), ellipse.ratio >= FACE_ON_ONLY_BELOW
