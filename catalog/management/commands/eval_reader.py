"""`manage.py eval_reader DIR [--json] [--details] [--by-kind] [--as-given]`: score the reader on
labelled images (DIR/labels.csv), as pipeline.scan.still reads still pictures. A row with a box is
read in that box, or zoomed in on its centre where that reads surer (a loosely drawn box); a row
without one is read whole, or in the detector's box where that box is clearly smaller than the
picture and reads more surely. --as-given reads each box exactly and each boxless picture whole."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog import ml
from catalog.management.commands.read_clock import image_argument
from pipeline.clock_time import minutes_apart
from pipeline.geometry import Box
from pipeline.labels import read_labels
from pipeline.read.fit import ACCEPT_CONFIDENCE
from pipeline.scan.still import FindClocks, read_labelled
from pipeline.synth.evaluation import readings_scores


class Command(BaseCommand):
    help = (
        "Print n, top1, hour_acc, minute_acc and unreadable for the reader on DIR (images + labels.csv), and how "
        "sure readings score: top1 among those at or above the accept threshold, and the share that reach it."
    )
    requires_system_checks = []

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("directory", type=Path, metavar="DIR")
        parser.add_argument("--json", action="store_true")
        parser.add_argument(
            "--details",
            action="store_true",
            help="one line per image: file, truth, reading, confidence, kind, method, right",
        )
        parser.add_argument("--by-kind", action="store_true", help="scores for analog and digital clocks apart")
        parser.add_argument("--as-given", action="store_true",
                            help="each row in its box exactly, or whole without one: no zoom, no detector")  # fmt: skip
        parser.add_argument(
            "--threshold",
            type=float,
            default=ACCEPT_CONFIDENCE,
            help=f"the confidence a reading is accepted at (default {ACCEPT_CONFIDENCE}, as the scan)",
        )

    def handle(self, *args: object, directory: Path, **options: object) -> None:
        try:
            rows = [row for row in read_labels(directory) if row.hour is not None and row.minute is not None]
        except ValueError as error:
            raise CommandError(str(error)) from None
        try:
            reader = ml.clock_reader()
        except ml.ScanUnavailable as error:
            raise CommandError(str(error)) from None
        as_given = bool(options["as_given"])
        find = None if as_given else self._finder(rows)
        results = []
        for start in range(0, len(rows), 128):
            chunk = rows[start : start + 128]
            images = [image_argument(directory / row.file) for row in chunk]
            boxes = [Box(*row.box) if row.box else None for row in chunk]
            if as_given:
                readings = reader.read_clocks(images, boxes)
            else:
                readings = read_labelled(find, reader.read_clocks, images, boxes)
            results.extend(zip(chunk, readings, strict=True))
        threshold = float(options["threshold"])
        scores = readings_scores(results, threshold)
        if options["by_kind"]:
            for kind in ("analog", "digital"):
                # The label's kind where it is given, else the kind the reader saw.
                part = [(row, reading) for row, reading in results if (row.kind or reading.kind) == kind]
                scores[kind] = readings_scores(part, threshold)
        if options["details"]:
            for row, reading in results:
                truth = f"{row.hour % 12 or 12}:{row.minute:02d}"
                right = minutes_apart(row.hour, row.minute, reading.hour, reading.minute) <= 1
                detail = {"file": row.file, "truth": truth, "reading": str(reading),
                          "confidence": round(reading.confidence, 4), "kind": reading.kind,
                          "method": reading.method, "right": bool(right)}  # fmt: skip
                if options["json"]:
                    self.stdout.write(json.dumps(detail))
                else:
                    mark = "ok " if right else "BAD"
                    self.stdout.write(f"{mark} {truth:>5} read {reading!s:>8} {reading.confidence:.2f} "
                                      f"{reading.kind:7} {reading.method:15} {row.file}")  # fmt: skip
        if options["json"]:
            self.stdout.write(json.dumps(scores))
            return
        for key, value in scores.items():
            self.stdout.write(f"{key:>22}: {json.dumps(value) if isinstance(value, dict) else value}")

    def _finder(self, rows: list) -> FindClocks | None:
        """The scan's detector's `find`, where some row has no box and a detector can be had."""
        if all(row.box for row in rows):
            return None
        try:
            detector, choice = ml.clock_detector()
        except ml.ScanUnavailable as error:
            self.stderr.write(f"rows without a box are read whole: {error}")
            return None
        self.stderr.write(f"rows without a box: {choice.describe()}")
        return detector.find
