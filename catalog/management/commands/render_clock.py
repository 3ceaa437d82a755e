"""`manage.py render_clock --from HH:MM --to HH:MM OUT.mp4`: the clock from one time to another, as one file."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from catalog import selectors, services
from pipeline.clock_time import MINUTES_PER_DAY, format_minute_of_day, parse_minute_of_day
from pipeline.ffmpeg import FfmpegError, concat_to_mp4


def _minute(text: str) -> int:
    try:
        return parse_minute_of_day(text)
    except ValueError as error:
        raise CommandError(str(error)) from None


class Command(BaseCommand):
    help = (
        "Render the clock from --from to --to (HH:MM, 24-hour; the end is not included, and an end at or "
        "before the start runs past midnight, so --from 00:00 --to 00:00 is the whole day) into one MP4. "
        "Memory stays bounded: one minute is rendered at a time."
    )

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--from", dest="start", required=True, metavar="HH:MM")
        parser.add_argument("--to", dest="end", required=True, metavar="HH:MM")
        parser.add_argument("out", type=Path, metavar="OUT.mp4")
        parser.add_argument("--date", help="whose schedule (YYYY-MM-DD; clips rotate from day to day); default today")
        parser.add_argument("--height", type=int, default=720, help="picture height; the width follows at 16:9")

    def handle(self, *args: object, start: str, end: str, out: Path, date: str | None, height: int,
               **options: object) -> None:  # fmt: skip
        first, last = _minute(start), _minute(end)
        count = (last - first) % MINUTES_PER_DAY or MINUTES_PER_DAY
        day = self._day(date)
        if out.suffix.lower() != ".mp4":
            raise CommandError(f"{out}: the output is an MP4 file; name it something.mp4")
        if not out.parent.is_dir():
            raise CommandError(f"{out.parent}: no such folder")
        height = max(144, height // 2 * 2)
        size = (round(height * 16 / 9 / 2) * 2, height)
        with tempfile.TemporaryDirectory(prefix="render-clock-", dir=settings.VAR_DIR) as work:
            parts = []
            with tqdm(total=count, desc=f"rendering {start}-{end}", unit="min") as bar:
                for step in range(count):
                    minute_of_day = (first + step) % MINUTES_PER_DAY
                    # Past midnight, the next day's schedule.
                    scheduled = selectors.minute_plan(minute_of_day=minute_of_day,
                                                      day=day + (first + step) // MINUTES_PER_DAY)  # fmt: skip
                    try:
                        parts += services.minute_render(scheduled=scheduled, out=Path(work) / f"{step:04d}.ts",
                                                        size=size)  # fmt: skip
                    except FfmpegError as error:
                        raise CommandError(f"{format_minute_of_day(minute_of_day)}: {error}") from None
                    bar.update()
            try:
                concat_to_mp4(parts, out)
            except FfmpegError as error:
                raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"{out}: {count} minute(s) of the clock, {size[0]}x{size[1]}"))

    def _day(self, text: str | None) -> int:
        if not text:
            return timezone.localdate().toordinal()
        try:
            return date.fromisoformat(text).toordinal()
        except ValueError:
            raise CommandError(f"--date {text!r} is not a date; use YYYY-MM-DD") from None
