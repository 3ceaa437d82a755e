"""`manage.py make_demo [DIR] [--count N] [--ingest]`: render the demo library (and feed it to the catalog)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from tqdm import tqdm

from pipeline.synth.demo import demo_plan, render_demo


class Command(BaseCommand):
    help = (
        "Render a demo library of short videos with analog and digital clocks at known times (answers in "
        "DIR/labels.csv), some without clocks. With --ingest, import it as a local source and queue its processing."
    )

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("directory", nargs="?", type=Path, default=settings.VAR_DIR / "demo", metavar="DIR")
        parser.add_argument("--count", type=int, default=48, help="videos to render (at least 1)")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--spread", action="store_true", help="spread all clocks over the day (default: half in the next half hour)"
        )
        parser.add_argument("--ingest", action="store_true", help="then import it and queue scans for the workers")
        parser.add_argument("--workers", type=int, default=2, help="processes that render")

    def handle(self, *args: object, directory: Path, count: int, seed: int, spread: bool, ingest: bool,
               workers: int, **options: object) -> None:  # fmt: skip
        count = max(1, count)
        # The machine's own clock: the viewer is most likely in front of it.
        local = datetime.now().astimezone()
        soon_from = None if spread else local.hour * 60 + local.minute
        videos = demo_plan(count=count, seed=seed, soon_from=soon_from)
        with tqdm(total=len(videos), desc="rendering the demo", unit="video") as bar:
            render_demo(directory, videos, workers=workers, progress=lambda name: bar.update())
        clocks = sum(len(video.clocks) for video in videos)
        self.stdout.write(self.style.SUCCESS(f"{len(videos)} demo videos with {clocks} clocks in {directory}"))
        if ingest:
            call_command("ingest", str(directory), "--queue", stdout=self.stdout, stderr=self.stderr)
