"""The detector settings name: tiles by default only where they batch (a GPU), or as set."""

from __future__ import annotations

import pytest

from catalog import ml
from pipeline.scan.tiles import TiledDetector


@pytest.fixture
def fresh_models():
    ml.models_forget()
    yield
    ml.models_forget()


def test_unset_tiles_stay_off_on_a_cpu_and_a_set_grid_is_used(settings, fresh_models):
    settings.DEVICE = "cpu"
    settings.DETECTOR_WEIGHTS = settings.OWN_DETECTOR_WEIGHTS
    settings.DETECTOR_TILES, settings.DETECTOR_TILES_AUTO = (3, 2), True
    detector, choice = ml.clock_detector()
    assert choice.tiles is None and not isinstance(detector, TiledDetector)

    ml.models_forget()
    settings.DETECTOR_TILES, settings.DETECTOR_TILES_AUTO = (2, 2), False
    detector, choice = ml.clock_detector()
    assert choice.tiles == "2x2" and isinstance(detector, TiledDetector)
