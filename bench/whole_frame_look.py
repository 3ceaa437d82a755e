"""The whole-frame look (pipeline/scan/second_look.py) on real pictures: how often it calls a
clockless frame a clock, and how often it finds, and reads right, a real dial that fills or
overflows the frame, in each of its squares and in both together as the scan uses them.

- Clockless: the held-out COCO photographs of ../shared/data/backgrounds-coco (none of them
  trained on), each scaled to cover a 1280 x 720 frame.
- Dials: the real validation split (never trained on), each photo scaled so that its dial is
  `zoom` times the frame's height and centred in the frame (zoom 1: it fills the height; 1.78:
  as wide as the frame, its top and bottom cut off). Outside the photo the frame is dark grey,
  as in pipeline/synth/photo_videos.

Prints one JSON object. The look passes a square when the reader's P(no clock) is at most
second_look.MAX_NO_CLOCK; `read_right` counts the passed dials whose reading (from the square
the look keeps) is within a minute of the label.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clockweb.settings")
SHARED = ROOT.parent / "shared" / "data"
WIDTH, HEIGHT = 1280, 720


def _cover(image: np.ndarray, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    import cv2

    scale = max(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)))
    y, x = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return resized[y : y + height, x : x + width]


def _dial_frame(image: np.ndarray, box: tuple[int, int, int, int] | None, zoom: float) -> np.ndarray:
    import cv2

    x, y, w, h = box if box is not None else (0, 0, image.shape[1], image.shape[0])
    scale = zoom * HEIGHT / max(w, h)
    matrix = np.array([[scale, 0, WIDTH / 2 - scale * (x + w / 2)], [0, scale, HEIGHT / 2 - scale * (y + h / 2)]])
    return cv2.warpAffine(image, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(40, 40, 40))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zooms", default="1.0,1.4,1.78")
    args = parser.parse_args()

    import django

    django.setup()

    from catalog.ml import clock_reader
    from pipeline.clock_time import minutes_apart
    from pipeline.images import load_rgb
    from pipeline.scan.second_look import MAX_NO_CLOCK, centred_square, chosen_square, enclosing_square
    from pipeline.synth.hand_training import background_files
    from pipeline.synth.real_clocks import real_clocks

    reader = clock_reader()
    squares = {"centred": centred_square, "enclosing": enclosing_square}

    def look(frames: list) -> dict[str, list]:
        """Per square, P(no clock) for each frame; and the readings in each square."""
        result = {}
        for name, square in squares.items():
            boxes = [square(frame) for frame in frames]
            result[name] = (reader.no_clock_probabilities(frames, boxes), reader.read_clocks(frames, boxes))
        return result

    clockless = [_cover(load_rgb(path)) for path in background_files(SHARED / "backgrounds-coco", validation=True)]
    seen = look(clockless)
    report: dict[str, object] = {"benchmark": "whole_frame_look", "max_no_clock": MAX_NO_CLOCK,
                                 "clockless": {"n": len(clockless)}}  # fmt: skip
    for name, (no_clock, _) in seen.items():
        report["clockless"][f"passed_{name}"] = int((no_clock <= MAX_NO_CLOCK).sum())
    report["clockless"]["passed_as_the_scan_chooses"] = sum(
        chosen_square(np.array([seen[key][0][index] for key in squares])) is not None for index in range(len(clockless))
    )
    # What a clockless frame that passes is read as, and how sure: below ACCEPT_CONFIDENCE it makes no clip.
    report["clockless"]["passed_readings"] = [
        f"{name}: {reading} {reading.confidence:.2f}"
        for name, (no_clock, readings) in seen.items()
        for probability, reading in zip(no_clock, readings, strict=True)
        if probability <= MAX_NO_CLOCK
    ]
    clocks = [clock for clock in real_clocks(SHARED / "real-clocks") if clock.split == "validation"]
    images = [load_rgb(clock.path) for clock in clocks]
    dials = {}
    for zoom in (float(value) for value in args.zooms.split(",")):
        frames = [_dial_frame(image, clock.box, zoom) for image, clock in zip(images, clocks, strict=True)]
        seen = look(frames)
        scores: dict[str, int] = {"n": len(frames)}
        for name, (no_clock, readings) in seen.items():
            passed = no_clock <= MAX_NO_CLOCK
            scores[f"passed_{name}"] = int(passed.sum())
            scores[f"read_right_{name}"] = sum(
                bool(ok and minutes_apart(clock.hour, clock.minute, reading.hour, reading.minute) <= 1)
                for ok, reading, clock in zip(passed, readings, clocks, strict=True)
            )
        # As the scan does (second_look.chosen_square).
        passed = right = 0
        for index, clock in enumerate(clocks):
            chosen = chosen_square(np.array([seen[key][0][index] for key in squares]))
            if chosen is not None:
                passed += 1
                reading = seen[list(squares)[chosen]][1][index]
                right += bool(minutes_apart(clock.hour, clock.minute, reading.hour, reading.minute) <= 1)
        scores["passed_as_the_scan_chooses"], scores["read_right_as_the_scan_chooses"] = passed, right
        # The alternative: of the squares that pass, the one read with the higher confidence.
        passed = right = 0
        for index, clock in enumerate(clocks):
            candidates = [key for key in squares if seen[key][0][index] <= MAX_NO_CLOCK]
            if candidates:
                passed += 1
                reading = max((seen[key][1][index] for key in candidates), key=lambda r: r.confidence)
                right += bool(minutes_apart(clock.hour, clock.minute, reading.hour, reading.minute) <= 1)
        scores["passed_surer_reading"], scores["read_right_surer_reading"] = passed, right
        dials[f"zoom_{zoom:g}"] = scores
    report["dials"] = dials
    print(json.dumps(report))


if __name__ == "__main__":
    main()
