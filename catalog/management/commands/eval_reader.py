"""`manage.py eval_reader DIR [--json]`: score the reader on labelled images (DIR/labels.csv)."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.management.commands.read_clock import load_rgb
from pipeline.datasets import read_labels
from pipeline.evaluation import ReaderCase, reader_scores
from pipeline.tracking import Box

# A reading less sure than this is counted as unreadable (and so as wrong).
UNREADABLE_BELOW = 0.01


class Command(BaseCommand):
    help = "Print n, top1, hour_acc, minute_acc and unreadable for the reader on DIR (images + labels.csv)."
    requires_system_checks = []

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("directory", type=Path, metavar="DIR")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: object, directory: Path, **options: object) -> None:
        from pipeline.reader import load_reader

        try:
            rows = [row for row in read_labels(directory) if row.hour is not None and row.minute is not None]
        except ValueError as error:
            raise CommandError(str(error)) from None
        reader = load_reader(settings.READER_WEIGHTS, settings.DEVICE, settings.DISPLAY_READER_WEIGHTS)
        cases = []
        for start in range(0, len(rows), 128):
            chunk = rows[start : start + 128]
            images = [load_rgb(directory / row.file) for row in chunk]
            boxes = [Box(*row.box) if row.box else None for row in chunk]
            for row, reading in zip(chunk, reader.read_clocks(images, boxes), strict=True):
                readable = reading.confidence >= UNREADABLE_BELOW
                cases.append(ReaderCase(row.hour, row.minute, reading.hour if readable else None,
                                        reading.minute if readable else None))  # fmt: skip
        scores = reader_scores(cases)
        if options["json"]:
            self.stdout.write(json.dumps(scores))
        else:
            for key, value in scores.items():
                self.stdout.write(f"{key:>11}: {value}")
