"""`manage.py export_reviewed DIR`: the readings curators confirmed or corrected, as a labelled set
in eval_reader's format (DIR/labels.csv + one frame per clock), to evaluate or train the next reader."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from catalog import services


class Command(BaseCommand):
    help = "Write the reviewed readings to DIR as images + labels.csv (file,hour,minute,bbox_*,kind)."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("directory", type=Path, metavar="DIR")

    def handle(self, *args: object, directory: Path, **options: object) -> None:
        count = services.corrections_export(out=directory)
        self.stdout.write(f"{count} reviewed reading{'s' if count != 1 else ''} written to {directory}/labels.csv")
