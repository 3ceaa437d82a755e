"""`manage.py process [--video ID | --all]`: scan downloaded videos in the foreground, with a progress bar."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog import ml, services
from catalog.models import Video
from pipeline.ffmpeg import FfmpegError
from pipeline.frames import FrameReadError
from pipeline.ingest.probe import NotAVideo
from pipeline.search.embedder import EmbedderUnavailable


class Command(BaseCommand):
    help = "Scan downloaded videos for clocks, cut snippets and embed frames for search, in the foreground."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--video", type=int, action="append", metavar="ID", help="a video id (repeatable)")
        which.add_argument("--all", action="store_true", help="every downloaded video not yet processed")
        parser.add_argument("--again", action="store_true", help="with --all: also videos processed before")
        parser.add_argument("--no-embed", action="store_true", help="skip the CLIP embeddings for scene search")
        parser.add_argument(
            "--prepass", action="store_true", help="skip videos with no clock on any keyframe (faster, may miss some)"
        )

    def handle(self, *args: object, video: list[int] | None, again: bool, prepass: bool, **options: object) -> None:
        embed = not options["no_embed"]
        if video:
            videos = list(Video.objects.filter(pk__in=video))
            missing = set(video) - {v.pk for v in videos}
            if missing:
                raise CommandError(f"no video with id {', '.join(map(str, sorted(missing)))}")
        else:
            statuses = [Video.Status.DOWNLOADED] + ([Video.Status.SCANNED] if again else [])
            videos = list(Video.objects.filter(status__in=statuses).exclude(file=""))
        failures = 0
        for item in videos:
            if not item.file:
                self.stderr.write(f"#{item.pk}: no file to scan (status {item.status})")
                failures += 1
                continue
            total = item.duration_seconds or None
            with tqdm(total=total, desc=f"#{item.pk} {item.title[:30]}", unit="s") as bar:
                try:
                    done = services.video_scan(
                        video=item, progress=lambda second, bar=bar: bar.update(second - bar.n), prepass=prepass
                    )
                except ml.ScanUnavailable as unavailable:
                    raise CommandError(str(unavailable)) from None
            readings = sum(s.readings.count() for s in done.sightings.all())
            line = f"#{done.pk}: {done.sightings.count()} sighting(s), {readings} reading(s)"
            if done.status == Video.Status.SCANNED:
                try:
                    line += f", {len(services.video_cut(video=done))} new snippet(s)"
                except (FfmpegError, NotAVideo, services.DiskFull) as error:
                    failures += 1
                    self.stderr.write(self.style.ERROR(f"#{done.pk}: cutting failed: {error}"))
                if embed:
                    try:
                        stored, tagged = services.video_index(video=done)
                        line += f", {stored} frame(s) embedded for search, {tagged} frame tag(s)"
                    except EmbedderUnavailable as unavailable:
                        # Search is optional: say it once, keep scanning.
                        self.stderr.write(self.style.WARNING(f"not embedding for search: {unavailable}"))
                        embed = False
                    except (FrameReadError, NotAVideo, services.DiskFull) as error:
                        self.stderr.write(self.style.ERROR(f"#{done.pk}: embedding failed: {error}"))
            if done.status == Video.Status.FAILED:
                failures += 1
                self.stderr.write(self.style.ERROR(f"#{done.pk}: {done.error}"))
            else:
                self.stdout.write(self.style.SUCCESS(line) + (f" — {done.error}" if done.error else ""))
        if failures:
            raise CommandError(f"{failures} video(s) could not be scanned")
