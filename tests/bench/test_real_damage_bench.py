"""bench/real_damage.py: it reads a labelled set clean and under each damage, and the damage is
really done (the reader reads the damaged crops less surely). Asserts behaviour, never time."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from pipeline.labels import LabelRow, write_labels
from pipeline.read.dial_ellipse import fit_dial_ellipse
from pipeline.read.reader import CROP_MARGIN
from pipeline.synth.clocks import DrawnTime, draw_analog, paste, random_analog_style
from tests.support import drawn_clock_crop, load_bench

ROOT = Path(__file__).resolve().parents[2]
CLOCKS = ((4, 42, 8), (10, 8, 9))  # clear drawn clocks (hour, minute, drawing seed) any working reader reads


def test_each_damage_changes_the_crop_and_keeps_its_shape():
    bench = load_bench("real_damage")
    crop = np.random.default_rng(1).integers(40, 220, (112, 112, 3)).astype(np.uint8)
    for name, damage in bench.CONDITIONS.items():
        damaged = damage(crop, np.random.default_rng(2))
        assert damaged.shape == crop.shape and damaged.dtype == np.uint8, name
        assert (name == "clean") == np.array_equal(damaged, crop), name
    assert bench.dark(crop, None).mean() < 0.5 * crop.mean()


def test_the_bench_reads_a_labelled_set_clean_and_damaged(tmp_path):
    rows = []
    for hour, minute, seed in CLOCKS:
        rng = np.random.default_rng(seed)
        picture = np.full((240, 240, 3), 235, np.uint8)
        paste(picture, np.asarray(draw_analog(DrawnTime(hour, minute, 0), random_analog_style(rng), 200, rng).image),
              20, 20)  # fmt: skip
        name = f"clock-{hour}-{minute}.png"
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
        rows.append(LabelRow(name, hour, minute, (20, 20, 200, 200), "analog"))
    write_labels(tmp_path, rows)
    command = [sys.executable, "bench/real_damage.py", "--labels", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["n"] == 2
    assert report["clean"]["top1"] == 1.0, report
    assert report["film"]["mean_confidence"] < report["clean"]["mean_confidence"], report


def test_oblique_foreshortens_the_dial_and_turned_keeps_it_round():
    bench = load_bench("real_damage")
    dial = drawn_clock_crop(4, 42, 8, side=112, margin=7)
    oblique = fit_dial_ellipse(bench.oblique(dial, np.random.default_rng(3)), CROP_MARGIN)
    assert oblique is not None and abs(oblique.ratio - 0.6) < 0.06, oblique
    turned = bench.turned(dial, np.random.default_rng(3))
    assert not np.array_equal(turned, dial)
    round_still = fit_dial_ellipse(turned, CROP_MARGIN)
    assert round_still is not None and round_still.ratio > 0.9, round_still
