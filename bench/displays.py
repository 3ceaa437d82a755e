"""Digital displays: the project's display recognizer (one view, and the turned views the reader
reads, display_reader.display_views) against RapidOCR (PP-OCR recognition inside its wheel) on
the same rendered displays, and the two as the reader combines them (OCR on every display, its
time taken over an unsure recognition of the turned views, or over any where OCR is certain:
display_reader.choose_display_reading). Prints one JSON object: top1
(hour on a 12-hour dial exact, minute within 1), the share each read at all, and crops per second.

The displays come from pipeline.synth.clocks.display_sample (LCD and LED styles, 12/24-hour, markers, damage).
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=9100, help="never a training seed")
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np
    from django.conf import settings

    from pipeline.clock_time import minutes_apart
    from pipeline.read.display_reader import DISPLAY_SIZE, DisplayReader, display_views, read_with_second_opinion
    from pipeline.read.ocr import read_displays
    from pipeline.synth.clocks import display_sample

    rng = np.random.default_rng(args.seed)
    samples = [display_sample(rng, DISPLAY_SIZE) for _ in range(args.count)]
    crops = [sample.image for sample in samples]
    truths = [(sample.time.hour, sample.time.minute) for sample in samples]
    results = {}
    recognizer = DisplayReader(str(settings.DISPLAY_READER_WEIGHTS), device="cpu")

    def turned_views(crops: list) -> list:
        return recognizer.read_views([display_views(crop, None) for crop in crops])

    def combined(crops: list) -> list:
        views = [display_views(crop, None) for crop in crops]
        return [reading for reading, _ in read_with_second_opinion(recognizer.read_views, read_displays, views)]

    readers = (("display_recognizer", recognizer.read), ("display_recognizer_turned_views", turned_views),
               ("rapidocr", read_displays), ("combined", combined))  # fmt: skip
    for name, read in readers:
        read(crops[:4])
        started = time.perf_counter()
        readings = read(crops)
        seconds = time.perf_counter() - started
        right = sum(reading is not None and minutes_apart(hour, minute, reading.hour, reading.minute) <= 1
                    for (hour, minute), reading in zip(truths, readings, strict=True))  # fmt: skip
        results[name] = {"top1": round(right / len(crops), 4),
                         "read": round(sum(r is not None for r in readings) / len(crops), 4),
                         "crops_per_second": round(len(crops) / seconds, 1)}  # fmt: skip
    print(json.dumps({"benchmark": "displays", "count": args.count, "seed": args.seed, **results}))


if __name__ == "__main__":
    main()
