"""bench/clockless_photos.py: it runs a folder of photographs through the detector and reader in
settings and counts the readings the fit would accept. Asserts behaviour, never time."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from pipeline.synth.clocks import DrawnTime, draw_analog, paste, random_analog_style, random_background

ROOT = Path(__file__).resolve().parents[2]


def _run(folder: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "bench/clockless_photos.py", "--photos", str(folder), "--surest", "2"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_the_bench_counts_what_the_scan_would_accept_on_each_photo(tmp_path):
    rng = np.random.default_rng(8)
    for index in range(2):  # clockless: smooth colour and a little grain
        photo = np.clip(random_background(rng, 480, 360).astype(int) // 4 + 96, 0, 255).astype(np.uint8)
        cv2.imwrite(str(tmp_path / f"empty-{index}.jpg"), photo)
    # One photo that does hold a clock, large and clean: the bench must see it and count it.
    scene = np.full((360, 480, 3), 200, np.uint8)
    clock = draw_analog(DrawnTime(4, 20, 0), random_analog_style(np.random.default_rng(3)), 220, rng)
    paste(scene, np.asarray(clock.image), 130, 70)
    cv2.imwrite(str(tmp_path / "with-a-clock.png"), cv2.cvtColor(scene, cv2.COLOR_RGB2BGR))
    done = _run(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = done.stdout.strip().splitlines()
    report = json.loads(line)
    assert report["photos"] == 3 and report["boxes"] >= 1
    # A box on a clockless photo counts as a box, never as an accepted reading unless it reads surely.
    assert report["readings_accepted"] == 1, report
    assert all(item["confidence"] < report["accept_confidence"] for item in report["surest"][1:]), report
    surest = report["surest"][0]
    assert surest["photo"] == "with-a-clock.png" and surest["confidence"] >= report["accept_confidence"], report
    hour, minute = (int(part) for part in surest["reading"].split()[0].split(":"))
    assert (hour % 12, minute) in {(4, 19), (4, 20), (4, 21)}, surest


def test_the_bench_says_which_file_is_not_a_photograph(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    done = _run(tmp_path)
    assert done.returncode != 0 and "broken.jpg: not an image that can be read" in done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    done = _run(empty)
    assert done.returncode != 0 and "no photographs in" in done.stderr
