"""Oblique dials: the dial's ellipse fitted in its crop, the crop turned face on, and the reader
reading it so."""

from __future__ import annotations

import numpy as np
import pytest
from django.conf import settings

from pipeline.clock_time import minutes_apart
from pipeline.read.dial_ellipse import (
    FACE_ON_BELOW,
    FACE_ON_ONLY_BELOW,
    face_on,
    fit_dial_ellipse,
    oblique_views,
    warp_about_centre,
)
from pipeline.read.dial_geometry import squeeze_matrix, squeeze_vector
from pipeline.read.reader import CROP_MARGIN, ClockReader, hand_reading
from tests.support import drawn_clock_crop


def squeezed(crop: np.ndarray, ratio: float, short_axis_degrees: float) -> np.ndarray:
    """The crop as a dial seen from the side: shortened to `ratio` along the axis at
    `short_axis_degrees` from x towards y (down), about its centre."""
    return warp_about_centre(crop, squeeze_matrix(squeeze_vector(ratio, np.radians(short_axis_degrees))))


def dial(hour: int = 4, minute: int = 42, seed: int = 8) -> np.ndarray:
    # A reader's crop: the dial's radius about half the side over the crop margin.
    return drawn_clock_crop(hour, minute, seed, side=112, margin=round(112 * (1 - 1 / CROP_MARGIN) / 2))


def axis_error(fitted: float, degrees: float) -> float:
    return abs((np.degrees(fitted) - degrees + 90) % 180 - 90)


@pytest.mark.parametrize(("ratio", "degrees"), [(0.6, 30.0), (0.75, 100.0), (0.5, 0.0), (0.65, 150.0)])
def test_the_fit_finds_how_a_dial_is_squeezed(ratio, degrees):
    ellipse = fit_dial_ellipse(squeezed(dial(), ratio, degrees), CROP_MARGIN)
    assert ellipse is not None
    assert ellipse.ratio == pytest.approx(ratio, abs=0.06)
    assert axis_error(ellipse.short_axis, degrees) < 6, np.degrees(ellipse.short_axis)
    assert ellipse.coverage >= 0.75


def test_a_dial_seen_face_on_is_read_as_it_is():
    for seed in (8, 9, 11):
        crop = dial(seed=seed)
        ellipse = fit_dial_ellipse(crop, CROP_MARGIN)
        assert ellipse is not None and ellipse.ratio >= FACE_ON_BELOW, ellipse
        view, as_well = oblique_views(crop, CROP_MARGIN)
        assert view is crop and not as_well


def test_face_on_undoes_the_squeeze():
    upright = dial()
    oblique = squeezed(upright, 0.6, 60.0)
    restored, as_well = oblique_views(oblique, CROP_MARGIN)
    assert not as_well  # narrower than the network learned: face on alone
    # Compared inside the dial, where both crops have their own pixels.
    yy, xx = np.mgrid[:112, :112]
    inside = np.hypot(xx - 56, yy - 56) < 40
    before = np.abs(oblique.astype(int) - upright)[inside].mean()
    after = np.abs(restored.astype(int) - upright)[inside].mean()
    assert after < before / 2, (before, after)


def test_face_on_stretches_along_the_short_axis_only():
    ellipse = fit_dial_ellipse(squeezed(dial(), 0.5, 90.0), CROP_MARGIN)
    assert ellipse is not None
    # A dot off the centre along the short axis (y) moves out by 1 / ratio; along x it stays.
    dots = np.zeros((112, 112, 3), np.uint8)
    dots[56 + 10, 56] = dots[56, 56 + 20] = 255
    stretched = face_on(dots, ellipse)[..., 0]
    assert abs(int(np.argmax(stretched[:, 56])) - (56 + 10 / ellipse.ratio)) <= 1.5
    assert int(np.argmax(stretched[56, :])) in (75, 76, 77)


@pytest.mark.parametrize(
    "crop",
    [
        np.zeros((112, 112, 3), np.uint8),
        np.zeros((1, 1, 3), np.uint8),
        np.zeros((0, 0, 3), np.uint8),
        np.random.default_rng(0).integers(0, 256, (112, 112, 3), dtype=np.uint8),
    ],
    ids=["black", "one-pixel", "empty", "noise"],
)
def test_a_crop_without_a_dial_is_left_as_it_is(crop):
    assert fit_dial_ellipse(crop, CROP_MARGIN) is None
    view, as_well = oblique_views(crop, CROP_MARGIN)
    assert view is crop and not as_well


@pytest.fixture(scope="module")
def reader() -> ClockReader:
    return ClockReader(settings.READER_WEIGHTS, device="cpu")


def test_the_reader_reads_an_oblique_dial_face_on(reader):
    seen_as_is = ClockReader(None, model=reader.model, face_on_oblique=False)
    for hour, minute, seed, degrees in ((4, 42, 8, 30.0), (10, 8, 9, 120.0), (7, 25, 11, 75.0)):
        oblique = squeezed(dial(hour, minute, seed), 0.55, degrees)
        (reading,) = reader.read([oblique])
        assert minutes_apart(hour, minute, reading.hour, reading.minute) <= 1, f"{reading} for {hour}:{minute:02d}"
        # What the reader read is the crop face on, alone.
        view, as_well = oblique_views(oblique, CROP_MARGIN)
        assert not as_well
        (face_on_reading,) = seen_as_is.read([view])
        assert (reading.hour, reading.minute, reading.confidence) == (
            face_on_reading.hour, face_on_reading.minute, face_on_reading.confidence)  # fmt: skip


def test_a_mildly_oblique_dial_is_read_face_on_and_as_it_is(reader):
    hour, minute = 10, 8
    oblique = squeezed(dial(hour, minute, 9), 0.75, 60.0)
    ellipse = fit_dial_ellipse(oblique, CROP_MARGIN)
    assert ellipse is not None and FACE_ON_ONLY_BELOW <= ellipse.ratio < FACE_ON_BELOW
    view, as_well = oblique_views(oblique, CROP_MARGIN)
    assert as_well
    (reading,) = reader.read([oblique])
    assert minutes_apart(hour, minute, reading.hour, reading.minute) <= 1, reading
    # Its confidence is that of the two readings' posteriors multiplied, neither one's alone.
    heads = [{key: value[0] for key, value in reader.hand_probabilities([crop]).items()} for crop in (view, oblique)]
    both = hand_reading(heads[0], also=heads[1])
    assert (reading.hour, reading.minute, reading.confidence) == (both.hour, both.minute, both.confidence)
    alone = [hand_reading(each).confidence for each in heads]
    assert reading.confidence not in alone
