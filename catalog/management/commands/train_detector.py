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
from pipeline.synth.datasets import REAL_BACKGROUND_SHARE, add_reviewed_clocks, write_scene_dataset
from pipeline.synth.hand_training import background_files

MAX_CHECKPOINT_BYTES = 12 * 1024**2


class Command(BaseCommand):
    help = (
        "Render scenes (on real photos too), add curator-reviewed frames (--reviewed), and train the YOLO clock "
        "detector from scratch or on from --init (e.g. yolo11n.pt); saves models/detector.pt."
    )
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
        shared = Path(settings.BASE_DIR).parent / "shared" / "data"
        parser.add_argument("--backgrounds", type=Path, default=shared / "backgrounds-coco",
                            help="real clockless photos to render scenes on (their held-out fifth is never used); "
                                 "'none' for rendered backgrounds only")  # fmt: skip
        parser.add_argument("--reviewed", type=Path,
                            help="an export_reviewed folder: curator-reviewed real frames, added to the training "
                                 "split")  # fmt: skip

    def handle(self, *args: object, **options: object) -> None:
        data = options["data"] or Path(settings.VAR_DIR) / "datasets" / f"detector-seed{options['seed']}"
        if not (data / "data.yaml").exists():
            backgrounds = options["backgrounds"]
            photos = [] if str(backgrounds) == "none" or not backgrounds.is_dir() else background_files(backgrounds)
            on_photos = f", {REAL_BACKGROUND_SHARE:.0%} on {len(photos)} real photos" if photos else ""
            self.stdout.write(f"rendering {options['count']} scenes into {data}{on_photos}")
            write_scene_dataset(data, seed=options["seed"], count=options["count"], backgrounds=photos)
        if options["reviewed"]:
            try:
                added = add_reviewed_clocks(data, options["reviewed"])
            except ValueError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"{added} reviewed frames from {options['reviewed']} added to {data}'s training split")
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
