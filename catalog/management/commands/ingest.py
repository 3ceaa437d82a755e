"""`manage.py ingest SOURCE... [--search N]`: add videos from URLs, playlists, searches or local files.

By default everything happens here, in the foreground, with a progress bar per download;
`--queue` hands the downloads to the django-q2 workers instead. Run it again at any time:
known videos are skipped, and partial downloads resume.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog import services, tasks
from catalog.models import Source, Video
from pipeline.ingest import ytdlp
from pipeline.ingest.locators import local_video_files
from pipeline.ingest.probe import NotAVideo


class Command(BaseCommand):
    help = "Ingest videos: URLs (any site yt-dlp supports), playlists and channels, searches, local files and folders."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("sources", nargs="+", metavar="SOURCE")
        parser.add_argument(
            "--search", type=int, metavar="N", help="results per search (for 'ytsearch:…' and plain words)"
        )
        parser.add_argument("--max-items", type=int, metavar="N", help="most videos to take from one playlist")
        parser.add_argument(
            "--queue", action="store_true", help="queue downloads (and scans of local files) for the workers"
        )

    def handle(self, *args: object, sources: list[str], search: int | None, max_items: int | None, queue: bool,
               **options: object) -> None:  # fmt: skip
        try:
            created = services.sources_create(
                locators=sources, from_web=False, search_count=search, max_items=max_items
            )
        except services.IngestRefused as refused:
            for source, reason in refused.problems.items():
                self.stderr.write(f"refused {source!r}: {reason}")
            raise CommandError("nothing was ingested") from None

        failures = 0
        for source in created:
            self.stdout.write(self.style.MIGRATE_HEADING(f"{source.get_kind_display()}: {source.locator}"))
            if source.kind == Source.Kind.LOCAL:
                failures += self._import_local(source, queue=queue)
            else:
                failures += self._fetch(source, queue=queue)
        if failures:
            raise CommandError(f"{failures} video(s) or source(s) failed; see above")

    def _import_local(self, source: Source, *, queue: bool) -> int:
        failures = 0
        files = local_video_files(Path(source.locator))
        if not files:
            self.stderr.write("  no video files there")
            return 1
        for path in tqdm(files, desc="  importing", unit="file", disable=len(files) < 2):
            try:
                video = services.local_file_import(source=source, path=path)
            except (NotAVideo, OSError) as error:
                failures += 1
                tqdm.write(self.style.ERROR(f"  {path.name}: {error}"))
                continue
            if video.source_id != source.pk:
                tqdm.write(f"  {path.name}: already in the catalog as #{video.pk}")
            elif queue and video.status == Video.Status.DOWNLOADED:
                tasks.queue_scan(video)
        return failures

    def _fetch(self, source: Source, *, queue: bool) -> int:
        try:
            report = services.source_discover(source=source)
        except ytdlp.IngestError as error:
            self.stderr.write(self.style.ERROR(f"  {error}"))
            return 1
        self.stdout.write(
            f"  {len(report.new_videos)} new, {report.already_known} already in the catalog"
            + (f" ({len(report.unfinished)} not yet downloaded)" if report.unfinished else "")
            + f", {report.in_archive} in the download archive"
        )
        if queue:
            for video in report.to_download:
                tasks.queue_download(video)
            self.stdout.write(f"  queued {len(report.to_download)} download(s) for the workers")
            return 0
        return sum(self._download(video) for video in report.to_download)

    def _download(self, video: Video) -> int:
        with tqdm(desc=f"  {(video.title or video.url)[:40]}", unit="B", unit_scale=True, unit_divisor=1024) as bar:

            def show(progress: ytdlp.Progress) -> None:
                if progress.total_bytes:
                    bar.total = progress.total_bytes
                bar.update(progress.downloaded_bytes - bar.n)

            try:
                video = services.video_download(video=video, on_progress=show)
            except ytdlp.IngestError as error:
                tqdm.write(self.style.ERROR(f"  {error}"))
                return 1
        if video.status == Video.Status.FAILED:
            self.stderr.write(self.style.ERROR(f"  failed: {video.error}"))
            return 1
        if video.status == Video.Status.DUPLICATE:
            self.stdout.write(f"  duplicate: {video.error}")
        else:
            self.stdout.write(
                self.style.SUCCESS(f"  downloaded #{video.pk} {video.title!r} ({video.duration_seconds:.0f} s)")
            )
        return 0
