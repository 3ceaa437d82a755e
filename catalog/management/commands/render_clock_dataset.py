"""`manage.py render_clock_dataset OUT`: render a labelled set of clock scenes or crops."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand
from tqdm import tqdm

from pipeline.synth.datasets import write_crop_dataset, write_scene_dataset


class Command(BaseCommand):
    help = (
        "Render synthetic clocks at known times: scenes for the detector (YOLO layout plus labels.csv) "
        "or crops for the reader (labels.csv, the eval_reader format)."
    )
    requires_system_checks = []

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("out", type=Path)
        parser.add_argument("--seed", type=int, required=True, help="a seed never used in training, for eval sets")
        parser.add_argument("--count", type=int, default=1000)
        parser.add_argument("--crops", action="store_true", help="reader crops instead of detector scenes")
        parser.add_argument("--validation-share", type=float, default=0.1, help="scenes kept for validation")
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args: object, out: Path, seed: int, count: int, crops: bool, validation_share: float,
               workers: int, **options: object) -> None:  # fmt: skip
        if crops:
            write_crop_dataset(out, seed=seed, count=count)
        else:
            with tqdm(total=count, desc="rendering scenes", unit="scene") as bar:
                write_scene_dataset(out, seed=seed, count=count, validation_share=validation_share, workers=workers,
                                    progress=bar.update)  # fmt: skip
        self.stdout.write(self.style.SUCCESS(f"wrote {count} {'crops' if crops else 'scenes'} to {out}"))
