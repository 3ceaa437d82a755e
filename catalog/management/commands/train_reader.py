"""`manage.py train_reader [--display]`: render labelled clocks and train the reader on them
(or, with --display, the digital-display recognizer)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pipeline.checkpoints import save_checkpoint


class Command(BaseCommand):
    help = (
        "Train the clock reader on rendered crops (cached under var/datasets) and save a checkpoint. "
        "With --display, train the digital-display recognizer instead."
    )
    requires_system_checks = []

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--display", action="store_true", help="train the digital-display recognizer")
        parser.add_argument("--seed", type=int, default=1, help="seed of the training set and of training")
        parser.add_argument("--count", type=int, default=40_000, help="training crops to render")
        parser.add_argument("--validation-seed", type=int, default=1001)
        parser.add_argument("--validation-count", type=int, default=2_000)
        parser.add_argument("--epochs", type=int, default=12)
        parser.add_argument("--batch-size", type=int, default=128)
        parser.add_argument("--width", type=int, default=32)
        parser.add_argument("--learning-rate", type=float, default=3e-3)
        parser.add_argument("--workers", type=int, default=2, help="processes that render crops")
        parser.add_argument("--out", type=Path, help="checkpoint to write (default: the one settings load)")
        parser.add_argument("--init", type=Path, help="start from this checkpoint instead of random weights")

    def handle(self, *args: object, **options: object) -> None:
        if options["display"] and options["init"]:
            raise CommandError("--init continues the clock reader's training; the display recognizer starts afresh")
        if options["display"]:
            from pipeline.display_training import render_display_set as render
            from pipeline.display_training import train_display_reader as train

            out = options["out"] or Path(settings.DISPLAY_READER_WEIGHTS)
            extra = {}
        else:
            from pipeline.reader_training import render_reader_set as render
            from pipeline.reader_training import train_reader as train

            out = options["out"] or Path(settings.READER_WEIGHTS)
            extra = {"initial": options["init"]}
        cache = Path(settings.VAR_DIR) / "datasets"
        sets = {}
        for name, seed, count in (
            ("training", options["seed"], options["count"]),
            ("validation", options["validation_seed"], options["validation_count"]),
        ):
            with tqdm(total=count, desc=f"rendering {name} crops", unit="crop") as bar:
                sets[name] = render(seed, count, cache, workers=options["workers"], progress=bar.update)
        model, record = train(
            sets["training"], sets["validation"], seed=options["seed"], epochs=options["epochs"],
            batch_size=options["batch_size"], width=options["width"], learning_rate=options["learning_rate"],
            log=self.stdout.write, **extra,
        )  # fmt: skip
        command = "python manage.py train_reader " + shlex.join(sys.argv[2:])
        save_checkpoint(model, record, out, command)
        self.stdout.write(json.dumps({"checkpoint": str(out), **record.__dict__}))
