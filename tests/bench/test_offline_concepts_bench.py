"""bench/offline_concepts.py at a tiny size: real clock photos and clockless photos, tagged and
ranked offline; one JSON object with each query's figures. Asserts behaviour, never time."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_it_ranks_real_clocks_for_clock_words_and_prints_one_object():
    command = [sys.executable, "bench/offline_concepts.py", "--clocks", "8", "--clockless", "8"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = done.stdout.strip().splitlines()
    report = json.loads(line)
    assert report["photos"]["real_clocks"] == 8 and report["photos"]["clockless"] == 8
    clock = report["queries"]["clock"]
    assert "analog clock" in clock["matched"][0] and "clock" in clock["matched"][0]
    assert clock["any_tag"]["recall"] >= 0.5, "most real clocks carry a clock tag"
    assert clock["precision_at"]["10"] >= 0.5
