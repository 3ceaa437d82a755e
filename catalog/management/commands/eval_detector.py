"""`manage.py eval_detector DIR [--json] [--iou 0.5]`: recall and precision of the detector on DIR/labels.csv."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog import ml
from catalog.management.commands.read_clock import image_argument
from pipeline.geometry import Box
from pipeline.labels import read_labels
from pipeline.synth.evaluation import detector_scores, recall_at_precision, recall_by_size


class Command(BaseCommand):
    help = "Print recall and precision at IoU 0.5 for the detector on DIR (images + labels.csv with boxes)."
    requires_system_checks = []

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("directory", type=Path, metavar="DIR")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--confidence", type=float, default=None, help="detection threshold (default: settings)")
        parser.add_argument(
            "--sweep", action="store_true", help="also the best recall over thresholds at a precision of --precision"
        )
        parser.add_argument("--precision", type=float, default=0.9)
        parser.add_argument("--by-size", action="store_true", help="also recall by clock size (<40, 40-80, >=80 px)")
        parser.add_argument("--iou", type=float, default=0.5, help="overlap a detection needs to count (default 0.5)")

    def handle(self, *args: object, directory: Path, **options: object) -> None:
        try:
            rows = read_labels(directory)
        except ValueError as error:
            raise CommandError(str(error)) from None
        truth: dict[str, list[Box]] = defaultdict(list)
        for row in rows:
            truth[row.file]  # an image with no clock still counts, for precision
            if row.box is not None:
                truth[row.file].append(Box(*row.box))
        try:
            detector, choice = ml.clock_detector(confidence=options["confidence"])
        except ml.ScanUnavailable as error:
            raise CommandError(str(error)) from None
        confidence = detector.confidence
        self.stderr.write(choice.describe())
        found = {}
        names = sorted(truth)
        for start in range(0, len(names), 16):
            chunk = names[start : start + 16]
            results = detector.find([image_argument(directory / name) for name in chunk])
            for name, clocks in zip(chunk, results, strict=True):
                found[name] = [(clock.box, clock.confidence) for clock in clocks]
        scores = {
            **detector_scores(dict(truth), found, options["iou"]),
            "confidence_threshold": confidence,
            "detector": choice.kind,
            "detector_weights": choice.weights,
        }
        if options["by_size"]:
            scores["recall_by_size"] = recall_by_size(dict(truth), found, iou=options["iou"])
        if options["sweep"]:
            best = recall_at_precision(dict(truth), found, precision=options["precision"], iou=options["iou"])
            scores |= {f"recall_at_precision_{options['precision']}": best["recall"],
                       "swept_precision": best["precision"], "swept_threshold": best["threshold"]}  # fmt: skip
        if options["json"]:
            self.stdout.write(json.dumps(scores))
        else:
            for key, value in scores.items():
                self.stdout.write(f"{key:>20}: {value}")
