"""Reader speed: crops read per second, in batches, with the reader in settings (the hand reader
by default), on this machine's device. Prints one JSON object.

The crops are rendered clocks, so the work is the same as on real ones: cropping and resizing,
the network, and the joint decode of every crop.
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
    parser.add_argument("--crops", type=int, default=512, help="crops to read")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np
    import torch
    from django.conf import settings

    from catalog import ml
    from pipeline.read.reader import ClockReader
    from pipeline.synth.clocks import reader_sample

    reader = ml.clock_reader()
    rng = np.random.default_rng(5)
    images = [reader_sample(rng, 160).image for _ in range(64)]
    images = [images[index % len(images)] for index in range(args.crops)]
    boxes = [None] * len(images)
    reader.read_clocks(images[: args.batch_size], boxes[: args.batch_size])  # warm up outside the timing

    def timed(reader: ClockReader) -> float:
        started = time.perf_counter()
        for start in range(0, len(images), args.batch_size):
            reader.read_clocks(images[start : start + args.batch_size], boxes[start : start + args.batch_size])
        return time.perf_counter() - started

    seconds = timed(reader)
    # The same network reading one view of each crop, to show what the turned and mirrored views cost.
    one_view_seconds = timed(ClockReader(None, model=reader.model, turned_views=(), mirrored_view=False))
    print(json.dumps({
        "benchmark": "reader", "checkpoint": str(settings.READER_WEIGHTS),
        "architecture": "hands" if reader.hands else "polar", "input_size": reader.input_size,
        "device": reader.device, "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "batch_size": args.batch_size, "crops": len(images), "seconds": round(seconds, 2),
        "crops_per_second": round(len(images) / seconds, 1), "turned_views": list(reader.turned_views),
        "mirrored_view": reader.mirrored_view,
        "one_view_crops_per_second": round(len(images) / one_view_seconds, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
