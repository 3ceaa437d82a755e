"""`manage.py train_detector`: train clockweb's own YOLO clock detector on rendered scenes."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pipeline.scan import detector
from pipeline.synth.datasets import write_scene_dataset

MAX_CHECKPOINT_BYTES = 12 * 1024**2


class Command(BaseCommand):
    help = "Render scenes (or reuse --data) and train the YOLO clock detector from scratch; saves models/detector.pt."
    requires_system_checks = []

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--data", type=Path, help="a render_clock_dataset folder; rendered if missing")
        parser.add_argument("--seed", type=int, default=11)
        parser.add_argument("--count", type=int, default=2000, help="scenes to render when --data doesn't exist")
        parser.add_argument("--epochs", type=int, default=20)
        parser.add_argument("--image-size", type=int, default=320)
        parser.add_argument("--batch", type=int, default=16)
        parser.add_argument("--model", type=Path, default=settings.BASE_DIR / "pipeline" / "synth" / "yolo-clock.yaml")
        parser.add_argument("--out", type=Path, default=settings.BASE_DIR / "models" / "detector.pt")
        parser.add_argument("--init", type=Path, help="continue from these weights instead of starting from scratch")
        parser.add_argument("--run-name", help="folder under var/runs (default: detector-seed<SEED>)")

    def handle(self, *args: object, **options: object) -> None:
        data = options["data"] or Path(settings.VAR_DIR) / "datasets" / f"detector-seed{options['seed']}"
        if not (data / "data.yaml").exists():
            self.stdout.write(f"rendering {options['count']} scenes into {data}")
            write_scene_dataset(data, seed=options["seed"], count=options["count"])
        run_dir = Path(settings.VAR_DIR) / "runs" / (options["run_name"] or f"detector-seed{options['seed']}")
        result = detector.train(
            data_yaml=data / "data.yaml", model_yaml=options["model"], epochs=options["epochs"],
            image_size=options["image_size"], batch=options["batch"], seed=options["seed"], run_dir=run_dir,
            initial=options["init"],
        )  # fmt: skip
        best = Path(result["weights"])
        if best.stat().st_size > MAX_CHECKPOINT_BYTES:
            raise CommandError(f"{best} is {best.stat().st_size / 1024**2:.1f} MB, over the 12 MB limit for models/")
        options["out"].parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(best, options["out"])
        command = "python manage.py train_detector " + shlex.join(sys.argv[2:])
        self.stdout.write(json.dumps({"checkpoint": str(options["out"]), "command": command, **result}))
