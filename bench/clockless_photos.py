"""False clocks on real photographs with no clock in them: ../shared/data/backgrounds-coco (500
COCO photographs in which a COCO detector found no clock), each run through the detector and
reader named in settings as the scan runs them on a frame (the detector's boxes, each box read).

A box alone makes no clip: a reading does, where the fit accepts it (pipeline/read/fit's
ACCEPT_CONFIDENCE). So the figure that matters is `readings_accepted`, which should be 0; the
surest readings show how close the rest come to it. The whole-frame look (a frame with no box) is
measured apart, by bench/whole_frame_look.py.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clockweb.settings")
PHOTOS = ROOT.parent / "shared" / "data" / "backgrounds-coco"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    parser.add_argument("--count", type=int, default=0, help="the first COUNT photos by name (0: all)")
    parser.add_argument("--surest", type=int, default=5, help="how many of the surest readings to list")
    args = parser.parse_args()

    import django

    django.setup()
    from catalog.ml import scan_models
    from pipeline.images import UnreadableImage, load_rgb
    from pipeline.read.fit import ACCEPT_CONFIDENCE

    paths = sorted(path for path in args.photos.iterdir() if path.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if args.count:
        paths = paths[: args.count]
    if not paths:
        raise SystemExit(f"no photographs in {args.photos}")
    detector, reader = scan_models()
    started = time.perf_counter()
    boxes_found, photos_with_boxes, readings = 0, 0, []
    for path in paths:
        try:
            image = load_rgb(path)
        except UnreadableImage as error:
            raise SystemExit(str(error)) from None
        found = detector.find([image])[0]
        boxes_found += len(found)
        photos_with_boxes += bool(found)
        if found:
            for clock, reading in zip(found, reader.read_clocks([image] * len(found), [clock.box for clock in found]),
                                      strict=True):  # fmt: skip
                readings.append({"photo": path.name, "box_confidence": round(float(clock.confidence), 3),
                                 "reading": str(reading), "kind": reading.kind,
                                 "confidence": round(float(reading.confidence), 3)})  # fmt: skip
    readings.sort(key=lambda item: item["confidence"], reverse=True)
    print(json.dumps({
        "benchmark": "clockless_photos",
        "photos": len(paths),
        "photos_with_boxes": photos_with_boxes,
        "boxes": boxes_found,
        "accept_confidence": ACCEPT_CONFIDENCE,
        "readings_accepted": sum(item["confidence"] >= ACCEPT_CONFIDENCE for item in readings),
        "surest": readings[: args.surest],
        "seconds": round(time.perf_counter() - started, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
