"""The real validation photographs read again under what film and video do to a picture: dark,
low resolution, blur, grain, heavy JPEG, and all of the first four together; and seen turned
(the camera rolled) and oblique (foreshortened). The hidden real set
holds film frames and dark dials, which the split has few of; this says how far the reader falls
on them. Each clock is cropped as labelled (pipeline/read/reader.crop_clock), damaged, and read by
the reader in settings as it reads a crop (all its views). The damage of crop i under a condition
is drawn from the seed, the condition and i, so runs compare.

Reads an eval_reader directory (default: the real validation split under var/datasets, written
from ../shared/data/real-clocks where it is missing, as train_reader writes it). Prints one JSON
object: per condition top1 (hour exact, minute within 1), the share read at the accept threshold
or more, and top1 among those.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clockweb.settings")
SHARED = ROOT.parent / "shared" / "data"

import cv2  # noqa: E402
import numpy as np  # noqa: E402

Damage = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def dark(crop: np.ndarray, _: np.random.Generator) -> np.ndarray:
    """A dim scene: the mid-tones pushed down (gamma 1.6) and the whole at 35 % of its light."""
    return np.clip(255 * (crop / 255.0) ** 1.6 * 0.35, 0, 255).astype(np.uint8)


def low_resolution(crop: np.ndarray, _: np.random.Generator, side: int = 28) -> np.ndarray:
    """The clock a few dozen pixels across in the frame, scaled up to the reader's input."""
    height, width = crop.shape[:2]
    small = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def blur(crop: np.ndarray, _: np.random.Generator) -> np.ndarray:
    return cv2.GaussianBlur(crop, (0, 0), 2.0)


def grain(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(crop + rng.normal(0, 14, crop.shape), 0, 255).astype(np.uint8)


def jpeg(crop: np.ndarray, _: np.random.Generator) -> np.ndarray:
    # OpenCV encodes BGR: the crop is swapped around the round trip, so JPEG's colour
    # subsampling falls on the channels it is meant for.
    _, encoded = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 15])
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def turned(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The camera rolled: the whole crop turned up to 25 degrees either way. The time stays: the
    dial's 12 turns with it, and the reader must find it on the dial, not at the crop's top."""
    from pipeline.read.reader import turn

    return turn(crop, -float(rng.uniform(-25, 25)))


def oblique(crop: np.ndarray, rng: np.random.Generator, squeeze: float = 0.6) -> np.ndarray:
    """The dial seen about 53 degrees off its axis (foreshortened to 0.6) along a random direction."""
    from pipeline.read.dial_ellipse import warp_about_centre
    from pipeline.read.dial_geometry import squeeze_matrix, squeeze_vector

    # The axis drawn is the long one, the short one a right angle on (as the bench has drawn it).
    short_axis = rng.uniform(0, np.pi) + np.pi / 2
    return warp_about_centre(crop, squeeze_matrix(squeeze_vector(squeeze, short_axis)))


def film(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return jpeg(grain(blur(dark(crop, rng), rng), rng), rng)


CONDITIONS: dict[str, Damage] = {
    "clean": lambda crop, _: crop,
    "dark": dark,
    "low_resolution": low_resolution,
    "blur": blur,
    "grain": grain,
    "jpeg": jpeg,
    "film": film,
    "turned": turned,
    "oblique": oblique,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labels", type=Path, help="an eval_reader directory (default: the real validation split)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    from catalog.ml import clock_reader
    from pipeline.clock_time import minutes_apart
    from pipeline.geometry import Box
    from pipeline.images import load_rgb
    from pipeline.labels import read_labels
    from pipeline.read.fit import ACCEPT_CONFIDENCE
    from pipeline.read.reader import crop_clock
    from pipeline.synth.real_clocks import write_validation_set

    directory = args.labels or Path(settings.VAR_DIR) / "datasets" / "real-validation"
    if args.labels is None and not (directory / "labels.csv").exists():
        write_validation_set(SHARED / "real-clocks", directory)
    rows = [row for row in read_labels(directory) if row.hour is not None and row.minute is not None]
    if not rows:
        raise SystemExit(f"no labelled clocks in {directory}")
    reader = clock_reader()
    crops = [crop_clock(load_rgb(directory / row.file), Box(*row.box) if row.box else None, reader.input_size)
             for row in rows]  # fmt: skip
    report: dict[str, object] = {"benchmark": "real_damage", "labels": str(directory), "n": len(rows),
                                 "threshold": ACCEPT_CONFIDENCE}  # fmt: skip
    for number, (name, damage) in enumerate(CONDITIONS.items()):
        damaged = [damage(crop, np.random.default_rng([args.seed, number, index])) for index, crop in enumerate(crops)]
        readings = reader.read(damaged)
        right = [minutes_apart(row.hour, row.minute, reading.hour, reading.minute) <= 1
                 for row, reading in zip(rows, readings, strict=True)]  # fmt: skip
        sure = [ok for ok, reading in zip(right, readings, strict=True) if reading.confidence >= ACCEPT_CONFIDENCE]
        report[name] = {
            "top1": round(float(np.mean(right)), 4),
            "share_above_threshold": round(len(sure) / len(rows), 4),
            "top1_above_threshold": round(float(np.mean(sure)), 4) if sure else None,
            "mean_confidence": round(float(np.mean([reading.confidence for reading in readings])), 4),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
