"""bench/plain_clocks.py: its second renderer draws the time it labels, and the bench reads a few
clocks as eval_reader does and prints one JSON object. Asserts behaviour, never time."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.clock_time import minutes_apart
from pipeline.read.ocr import read_displays
from tests.support import load_bench

ROOT = Path(__file__).resolve().parents[2]


def _changed_directions(before: np.ndarray, after: np.ndarray, radius_share: float) -> list[float]:
    """Clockwise degrees from 12 where two pictures differ most on a circle around their centre:
    the two peaks, at least 60 degrees apart."""
    difference = np.abs(before.astype(float) - after.astype(float)).sum(axis=2)
    size = difference.shape[0]
    centre = (size - 1) / 2
    degrees = np.arange(0, 360, 0.5)
    xs = centre + np.sin(np.radians(degrees)) * size / 2 * radius_share
    ys = centre - np.cos(np.radians(degrees)) * size / 2 * radius_share
    values = difference[np.round(ys).astype(int), np.round(xs).astype(int)]
    first = int(values.argmax())
    apart = np.abs((degrees - degrees[first] + 180) % 360 - 180) >= 60
    second = int(np.where(apart, values, -1).argmax())
    return sorted([float(degrees[first]), float(degrees[second])])


def _near(angle: float, target: float) -> bool:
    return abs((angle - target + 180) % 360 - 180) < 4


@pytest.mark.parametrize("painter", ["pil", "opencv"])
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("hour", "minute"), [(3, 0), (10, 10), (7, 42)])
def test_the_plain_renderer_points_the_minute_hand_at_the_labelled_minute(painter, seed, hour, minute):
    """The same face drawn at the minute and half an hour on: at a radius past every hour hand
    and within every minute hand, the pictures differ only where the two minute hands are."""
    draw = load_bench("plain_clocks").PAINTERS[painter]
    later = (minute + 30) % 60
    now = np.asarray(draw(np.random.default_rng(seed), hour, minute, 0, 320))
    half_hour_on = np.asarray(draw(np.random.default_rng(seed), hour, later, 0, 320))
    directions = _changed_directions(now, half_hour_on, 0.6)
    assert any(_near(direction, 6 * minute) for direction in directions), directions
    assert any(_near(direction, 6 * later) for direction in directions), directions


def test_the_plain_renderer_draws_the_labelled_time_on_its_displays():
    """Read back by OCR (PP-OCR, which never saw this renderer): the typed and the drawn
    seven-segment displays show the time they are labelled with, and the AM/PM they say is right."""
    bench = load_bench("plain_clocks")
    right = 0
    for seed in range(12):
        hour, minute = [(9, 5), (21, 47), (12, 30), (3, 58)][seed % 4]
        [reading] = read_displays([np.asarray(bench.draw_plain_digital(np.random.default_rng(seed), hour, minute, 48))])
        right += reading is not None and minutes_apart(hour, minute, reading.hour, reading.minute) <= 1
        if reading is not None and reading.marker != "none":
            assert (reading.marker == "pm") == (hour >= 12), (seed, reading)
    assert right >= 11, f"OCR read {right} of 12 plain displays at their labelled time"


@pytest.mark.parametrize("painter", ["pil", "opencv"])
def test_every_variant_gives_a_time_a_box_inside_the_picture_and_a_kind(painter):
    bench = load_bench("plain_clocks")
    rng = np.random.default_rng(9)
    for variant in ("upright", "turned", "small"):
        picture, hour, minute, box, kind = bench.render(rng, variant, painter, "zero")
        assert 0 <= hour <= 23 and 0 <= minute <= 59
        x, y, width, height = box
        assert x + width <= picture.width and y + height <= picture.height
        assert kind in {"analog", "digital"}


@pytest.mark.slow
def test_it_reads_plain_clocks_and_prints_one_object(tmp_path):
    command = [sys.executable, "bench/plain_clocks.py", "--count", "6", "--out", str(tmp_path), "--painter", "opencv"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = done.stdout.strip().splitlines()
    report = json.loads(line)
    assert report["all"]["n"] == 18 and report["painter"] == "opencv"
    assert {"upright", "turned", "small"} <= set(report)
    assert report["all"]["top1"] >= 0.5, "the reader reads most clean clocks"
    assert (tmp_path / "labels.csv").read_text().count("\n") == 19
