"""`manage.py average_checkpoints A.pt B.pt ... --out OUT.pt`: the mean of the weights of
checkpoints of one network (a reader fine-tuned from one start), written as one checkpoint."""

from __future__ import annotations

import shlex
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from pipeline.read.checkpoints import average_checkpoints


class Command(BaseCommand):
    help = (
        "Average the weights of checkpoints of one network fine-tuned from one start (a model soup): "
        "e.g. the committed reader and a short warm restart from it. Evaluate the result with eval_reader."
    )
    requires_system_checks = []

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("checkpoints", nargs="+", type=Path)
        parser.add_argument("--out", type=Path, required=True, help="the averaged checkpoint to write")

    def handle(self, *args: object, **options: object) -> None:
        paths: list[Path] = options["checkpoints"]
        for path in paths:
            if not path.is_file():
                raise CommandError(f"{path} not found")
        command = "python manage.py average_checkpoints " + shlex.join([*map(str, paths), "--out", str(options["out"])])
        try:
            average_checkpoints(paths, options["out"], command)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"wrote {options['out']}: the mean of {len(paths)} checkpoints")
