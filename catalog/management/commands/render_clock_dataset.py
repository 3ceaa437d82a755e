"""`manage.py render_clock_dataset OUT`: render a labelled set of clock scenes or crops, or build a
detector eval set from the real clocks of the validation split (`--real photos|pasted`)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pipeline.synth.datasets import write_crop_dataset, write_scene_dataset
from pipeline.synth.real_clocks import real_clocks
from pipeline.synth.real_scenes import pasted_dial_scenes, photo_scenes


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
        parser.add_argument(
            "--real", choices=["photos", "pasted"],
            help="a detector eval set of real clocks instead: the shlezman validation photos, or the ermu03 "
                 "validation dials pasted into clockless photos (with the held-out clockless photos either way)",
        )  # fmt: skip
        shared = Path(settings.BASE_DIR).parent / "shared" / "data"
        parser.add_argument("--real-clocks", type=Path, default=shared / "real-clocks")
        parser.add_argument("--backgrounds", type=Path, default=shared / "backgrounds-coco")

    def handle(self, *args: object, out: Path, seed: int, count: int, crops: bool, validation_share: float,
               workers: int, real: str | None, real_clocks: Path, backgrounds: Path,
               **options: object) -> None:  # fmt: skip
        if real:
            self._real(out, real, seed, real_clocks, backgrounds)
            return
        if crops:
            write_crop_dataset(out, seed=seed, count=count)
        else:
            with tqdm(total=count, desc="rendering scenes", unit="scene") as bar:
                write_scene_dataset(out, seed=seed, count=count, validation_share=validation_share, workers=workers,
                                    progress=bar.update)  # fmt: skip
        self.stdout.write(self.style.SUCCESS(f"wrote {count} {'crops' if crops else 'scenes'} to {out}"))

    def _real(self, out: Path, kind: str, seed: int, clocks_root: Path, backgrounds: Path) -> None:
        for folder in (clocks_root, backgrounds):
            if not folder.is_dir():
                raise CommandError(f"{folder} not found (see ../shared/data/SOURCES.md)")
        clocks = real_clocks(clocks_root)
        if kind == "photos":
            count = photo_scenes(clocks, backgrounds, out)
        else:
            count = pasted_dial_scenes(clocks, backgrounds, out, seed=seed)
        self.stdout.write(self.style.SUCCESS(f"wrote {count} real clocks ({kind}) and the held-out clockless "
                                             f"photos to {out}"))  # fmt: skip
