"""What the reader loses to the dial's geometry: rendered analog clocks whose tilt and oblique
squeeze are known exactly, read three ways.

- `as_read`: the reader as it reads (the hands decoded against the tilt its `up` head finds);
- `true_tilt`: the same hand distributions decoded against the dial's true tilt (the direction of
  its 12 in the crop), as if the `up` head were exact;
- `true_affine`: decoded through the true local map of the dial into the crop (tilt and squeeze),
  as if the network also said how the dial is seen from the side.

The gap from `as_read` to `true_tilt` is what the `up` head's error costs; from `true_tilt` to
`true_affine`, what reading an oblique dial as a turned circle costs. Also prints the `up` head's
error in degrees (6 degrees is a minute), and the `squeeze` head's (the distance between
squeeze vectors, read/dial_geometry) beside that of reading every dial as face on. Each clock:
pipeline.synth.clocks' renderer, the perspective of `reader_sample` (strength up to
--perspective), set on its random background, damaged by --damage, cropped to the reader's
input. Prints one JSON object.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--damage", type=float, default=0.3, help="clocks.damage amount (eval-crops-9002: 1.0)")
    parser.add_argument("--perspective", type=float, default=0.22, help="largest perspective strength (0: none)")
    args = parser.parse_args()

    import django

    django.setup()
    import cv2

    from catalog.ml import clock_reader
    from pipeline.clock_time import minutes_apart
    from pipeline.read.decode import DIAL_MINUTES, at_positions
    from pipeline.read.dial_geometry import local_map, seen_degrees, squeeze_of
    from pipeline.read.reader import hand_reading
    from pipeline.synth.clocks import damage, paste, perspective_warp, random_background, random_clock

    reader = clock_reader()
    size = reader.input_size
    rng = np.random.default_rng(args.seed)
    crops, times, jacobians = [], [], []
    for _ in range(args.count):
        clock = random_clock(rng, int(rng.choice([48, 64, 96, 128, 160])), digital_share=0.0)
        sprite, warp = perspective_warp(clock.image, rng, strength=float(rng.uniform(0.0, args.perspective)))
        height, width = sprite.shape[:2]
        side = int(max(height, width) * rng.uniform(1.05, 1.3))
        canvas = random_background(rng, side, side)
        jitter = side // 20
        x = (side - width) // 2 + int(rng.integers(-jitter, jitter + 1))
        y = (side - height) // 2 + int(rng.integers(-jitter, jitter + 1))
        paste(canvas, sprite, x, y)
        crops.append(cv2.resize(damage(canvas, rng, amount=args.damage), (size, size), interpolation=cv2.INTER_AREA))
        times.append(clock.time)
        # Pasting and resizing only move and scale: the dial's shape in the crop is the warp's.
        jacobians.append(local_map(warp, (clock.image.shape[1] / 2, clock.image.shape[0] / 2)))
    heads = reader.hand_probabilities(crops)
    dial = np.arange(DIAL_MINUTES)
    right = {"as_read": 0, "true_tilt": 0, "true_affine": 0}
    up_errors, squeeze_errors, squeeze_sizes = [], [], []
    for index, (time, jacobian) in enumerate(zip(times, jacobians, strict=True)):
        probabilities = {key: value[index] for key, value in heads.items()}
        reading = hand_reading(probabilities, "joint", crops[index], reader.geometry_weight)
        right["as_read"] += minutes_apart(time.hour % 12, time.minute, reading.hour, reading.minute) <= 1
        tilt = float(seen_degrees(jacobian, np.zeros(1))[0])
        if "up" in probabilities:
            found = float(np.argmax(probabilities["up"])) * 360 / len(probabilities["up"])
            up_errors.append((found - tilt + 180) % 360 - 180)
        if "squeeze" in probabilities:
            true_squeeze = np.array(squeeze_of(jacobian))
            squeeze_errors.append(float(np.hypot(*(probabilities["squeeze"] - true_squeeze))))
            squeeze_sizes.append(float(np.hypot(*true_squeeze)))
        directions = {
            "true_tilt": (((dial % 60) * 6.0 + tilt) % 360, (dial * 0.5 + tilt) % 360),
            "true_affine": (seen_degrees(jacobian, (dial % 60) * 6.0), seen_degrees(jacobian, dial * 0.5)),
        }
        for name, (minute_degrees, hour_degrees) in directions.items():
            minute, hour_hand = probabilities["minute"], probabilities["hour_hand"]
            scores = (
                np.log(at_positions(minute, minute_degrees * len(minute) / 360) + 1e-6)
                + np.log(at_positions(hour_hand, hour_degrees * len(hour_hand) / 360) + 1e-6)
                + np.log(probabilities["hour"][dial // 60] + 1e-6)
            )
            best = int(scores.argmax())
            right[name] += minutes_apart(time.hour % 12, time.minute, best // 60, best % 60) <= 1
    errors = np.abs(np.array(up_errors))
    up_error = None
    if up_errors:
        up_error = {"std": round(float(np.std(up_errors)), 2), "median_abs": round(float(np.median(errors)), 2),
                    "share_over_6": round(float(np.mean(errors > 6)), 4)}  # fmt: skip
    squeeze = None
    if squeeze_errors:
        # Against saying "face on" every time: how far the true squeeze is from zero.
        squeeze = {"mean_error": round(float(np.mean(squeeze_errors)), 4),
                   "mean_error_if_read_as_face_on": round(float(np.mean(squeeze_sizes)), 4)}  # fmt: skip
    scores = {f"top1_{name}": round(int(value) / args.count, 4) for name, value in right.items()}
    print(json.dumps({"benchmark": "reader_geometry", "count": args.count, "seed": args.seed, "damage": args.damage,
                      "perspective": args.perspective, **scores, "up_error_degrees": up_error,
                      "squeeze_error": squeeze}))  # fmt: skip


if __name__ == "__main__":
    main()
