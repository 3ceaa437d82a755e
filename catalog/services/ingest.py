"""Ingest: sources, discovery, downloads, local files, and the cleaning of the untrusted text they bring."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from catalog.models import Source, Video
from catalog.services.work import _LOCK_DOWNLOAD_SLOT, _LOCK_VIDEO, DiskFull, _advisory_lock, _disk_full, _is_disk_full
from pipeline.ffmpeg import ffmpeg_binary
from pipeline.files import written_whole
from pipeline.ingest import ytdlp
from pipeline.ingest.locators import Locator, LocatorKind, LocatorRefused, parse_locator
from pipeline.ingest.probe import NotAVideo, VideoProbe, VideoTooLarge, probe_video
from pipeline.ingest.ytdlp import ProgressCallback

logger = logging.getLogger(__name__)


def source_create(
    *, kind: str, locator: str, max_items: int | None = None, created_by: AbstractBaseUser | None = None
) -> Source:
    source = Source(kind=kind, locator=locator.strip(), max_items=max_items, created_by=created_by)
    source.full_clean()
    source.save()
    return source


class IngestRefused(ValueError):
    """Some sources cannot be ingested. `problems` maps each refused source to its reason."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{source}: {reason}" for source, reason in problems.items()))


@dataclass(frozen=True)
class DiscoveryReport:
    source: Source
    new_videos: list[Video]
    already_known: int
    in_archive: int
    # Videos found before whose download never completed (failed, or cut off by a crash).
    unfinished: list[Video]

    @property
    def to_download(self) -> list[Video]:
        return self.new_videos + self.unfinished


def download_policy() -> ytdlp.DownloadPolicy:
    """Ingest limits and manners, from settings."""
    return ytdlp.DownloadPolicy(
        max_height=settings.INGEST_MAX_HEIGHT,
        max_duration_seconds=settings.INGEST_MAX_DURATION,
        max_filesize_bytes=settings.INGEST_MAX_FILESIZE_MB * 1024**2,
        rate_limit_bytes_per_second=settings.INGEST_RATE_LIMIT_KB * 1024 or None,
        sleep_between_requests_seconds=settings.INGEST_SLEEP_REQUESTS,
        sleep_before_download_seconds=settings.INGEST_SLEEP_DOWNLOADS,
        retries=settings.INGEST_RETRIES,
        allow_loopback=settings.INGEST_ALLOW_LOOPBACK,
        archive_path=settings.INGEST_ARCHIVE,
        ffmpeg_path=ffmpeg_binary(),
    )


def sources_create(
    *,
    locators: list[str],
    from_web: bool,
    search_count: int | None = None,
    max_items: int | None = None,
    created_by: AbstractBaseUser | None = None,
) -> list[Source]:
    """Check every locator, then record them all as Sources; if any is refused, none is recorded."""
    cap = min(max_items or settings.INGEST_MAX_ITEMS, settings.INGEST_MAX_ITEMS)
    parsed: list[Locator] = []
    problems: dict[str, str] = {}
    for text in locators:
        try:
            parsed.append(
                parse_locator(
                    text,
                    from_web=from_web,
                    search_count=search_count or settings.INGEST_SEARCH_COUNT,
                    max_items=cap,
                    allow_loopback=settings.INGEST_ALLOW_LOOPBACK,
                    is_search=ytdlp.is_search_locator,
                )
            )
        except LocatorRefused as refused:
            problems[text[:200]] = str(refused)
    if not locators:
        problems[""] = "no sources given"
    if problems:
        raise IngestRefused(problems)
    kinds = {
        LocatorKind.URL: Source.Kind.URL,
        LocatorKind.SEARCH: Source.Kind.SEARCH,
        LocatorKind.LOCAL: Source.Kind.LOCAL,
    }
    with transaction.atomic():
        return [
            source_create(kind=kinds[p.kind], locator=p.value, max_items=p.limit, created_by=created_by) for p in parsed
        ]


def source_discover(*, source: Source) -> DiscoveryReport:
    """Ask yt-dlp what the source holds and add a pending Video for each video not seen before."""
    policy = download_policy()
    try:
        discovery = ytdlp.discover(source.locator, limit=source.max_items or settings.INGEST_MAX_ITEMS, policy=policy)
    except ytdlp.IngestError as error:
        Source.objects.filter(pk=source.pk).update(error=str(error), last_ingested_at=timezone.now())
        raise
    new_videos: list[Video] = []
    unfinished: list[Video] = []
    known = archived = 0
    with transaction.atomic():
        for entry in discovery.entries:
            if entry.in_archive:
                archived += 1
                continue
            video, created = Video.objects.get_or_create(
                extractor=entry.extractor,
                external_id=entry.external_id,
                defaults={
                    "source": source,
                    "url": clean_text(entry.url, 2000),
                    "title": clean_text(entry.title, 500),
                    "duration_seconds": entry.duration_seconds,
                },
            )
            if created:
                new_videos.append(video)
                continue
            known += 1
            if not video.file and video_can_retry(video):
                unfinished.append(video_retry(video=video))
        kind = Source.Kind.PLAYLIST if discovery.is_playlist and source.kind == Source.Kind.URL else source.kind
        Source.objects.filter(pk=source.pk).update(kind=kind, error="", last_ingested_at=timezone.now())
    source.refresh_from_db()
    return DiscoveryReport(
        source=source, new_videos=new_videos, already_known=known, in_archive=archived, unfinished=unfinished
    )


@contextmanager
def _download_slot() -> Iterator[None]:
    """One of INGEST_CONCURRENCY slots shared by every worker and command; waits for a free one."""
    while True:
        for slot in range(settings.INGEST_CONCURRENCY):
            with _advisory_lock(_LOCK_DOWNLOAD_SLOT, slot, wait_seconds=0) as taken:
                if taken:
                    yield
                    return
        time.sleep(2.0)


def video_work_dir(video: Video) -> Path:
    """Where a video's partial download lives until it is complete; kept between attempts to resume."""
    return Path(settings.INGEST_WORK_DIR) / str(video.pk)


def _store_file(path: Path, sha256: str, extension: str) -> str:
    """Move a verified file to its content-addressed place; returns its name relative to MEDIA_ROOT."""
    name = f"videos/{sha256[:2]}/{sha256}.{extension}"
    target = Path(settings.MEDIA_ROOT) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        path.unlink()
        return name
    # The work folder may be on another file system than the media; move copies then, so copy to a
    # partial name first: the stored name is whole or absent (media_partials_remove sweeps what a
    # killed worker leaves).
    with written_whole(target, target.with_name(f".{target.name}.{os.getpid()}.part")) as partial:
        shutil.move(path, partial)
    return name


def _remove_stored_file(name: str) -> None:
    if name and not Video.objects.filter(file=name).exists():
        (Path(settings.MEDIA_ROOT) / name).unlink(missing_ok=True)


def _check_free_disk(expected_bytes: int | None) -> None:
    # The file is downloaded into the work folder, then moved to the media: both need the room.
    for folder in (Path(settings.MEDIA_ROOT), Path(settings.INGEST_WORK_DIR)):
        folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder).free
        needed = settings.INGEST_MIN_FREE_MB * 1024**2 + (expected_bytes or 0)
        if free < needed:
            raise DiskFull(
                f"disk full: not enough free disk space in {folder}: {ytdlp.human_bytes(free)} free, "
                f"{ytdlp.human_bytes(needed)} needed (INGEST_MIN_FREE_MB plus the file)"
            )


def _video_fail(video: Video, message: str, *, keep_partial: bool) -> None:
    work_dir = video_work_dir(video)
    if not keep_partial:
        shutil.rmtree(work_dir, ignore_errors=True)
    elif work_dir.exists():
        partial = sum(p.stat().st_size for p in work_dir.iterdir() if p.is_file())
        if partial:
            message += f" ({ytdlp.human_bytes(partial)} kept to resume on retry)"
    Video.objects.filter(pk=video.pk).update(
        status=Video.Status.FAILED, error=message[:2000], progress={**video.progress, "status": "error"}
    )


def _progress_writer(video: Video, also: ProgressCallback | None) -> ProgressCallback:
    last_write = 0.0

    def write(progress: ytdlp.Progress) -> None:
        nonlocal last_write
        now = time.monotonic()
        # At most twice a second: progress hooks fire for every chunk.
        if progress.status != "downloading" or now - last_write >= 0.5:
            last_write = now
            try:
                Video.objects.filter(pk=video.pk).update(progress=progress.as_dict(), updated_at=timezone.now())
            except DatabaseError as error:
                # Progress is for people watching; a database restarting must not stop the download
                # (the video's own rows are written, or the task retried, once it is complete).
                logger.warning("download progress of video %s not saved: %s", video.pk, error)
        if also is not None:
            also(progress)

    return write


def video_download(*, video: Video, on_progress: ProgressCallback | None = None) -> Video:
    """Download, verify and store one video. Safe to run again: a stored video is left alone,
    a partial one resumes, and two workers never fetch the same video at once."""
    with _advisory_lock(_LOCK_VIDEO, video.pk, wait_seconds=0) as mine:
        if not mine:
            raise ytdlp.IngestError("another worker is downloading this video right now")
        video.refresh_from_db()
        if video.file and video.sha256:
            return video
        if video.status == Video.Status.DUPLICATE:
            return video
        Video.objects.filter(pk=video.pk).update(
            status=Video.Status.DOWNLOADING, error="", progress={"status": "waiting"}
        )
        video.refresh_from_db()
        try:
            _check_free_disk(_int_or_none(video.info.get("filesize") if video.info else None))
            with _download_slot():
                downloaded = ytdlp.download(
                    video.url,
                    work_dir=video_work_dir(video),
                    policy=download_policy(),
                    on_progress=_progress_writer(video, on_progress),
                )
            return _video_store_download(video, downloaded)
        except DiskFull as error:
            _video_fail(video, str(error), keep_partial=False)
        except (ytdlp.PermanentIngestError, VideoTooLarge) as error:
            _video_fail(video, str(error), keep_partial=False)
        except NotAVideo as error:
            _video_fail(video, f"not a video: {error}", keep_partial=False)
        except ytdlp.IngestError as error:
            # A full disk (yt-dlp's words): say so, and free the room the partial file took.
            full = _is_disk_full(error)
            message = str(_disk_full("the download", video_work_dir(video), error)) if full else str(error)
            _video_fail(video, message, keep_partial=not full)
        except BaseException as error:
            if _is_disk_full(error):  # moving the file into the media
                _video_fail(video, str(_disk_full("the video", Path(settings.MEDIA_ROOT), error)), keep_partial=False)
            else:
                # Ctrl-C, a task timeout or a bug: the video must not stay "downloading" for ever.
                _video_fail(video, f"interrupted: {type(error).__name__}: {error}".rstrip(": "), keep_partial=True)
                raise
    video.refresh_from_db()
    return video


def _probed_and_hashed(path: Path, *, too_long: type[Exception]) -> tuple[VideoProbe, str]:
    """A file about to enter the catalog: probed (NotAVideo if it is not one), refused as `too_long`
    past INGEST_MAX_DURATION, and hashed (its sha256 names the stored file and finds its twins)."""
    probe = probe_video(path)
    if probe.duration_seconds > settings.INGEST_MAX_DURATION:
        raise too_long(ytdlp.too_long(probe.duration_seconds, settings.INGEST_MAX_DURATION))
    with path.open("rb") as handle:
        return probe, hashlib.file_digest(handle, "sha256").hexdigest()


def _video_store_download(video: Video, downloaded: ytdlp.Downloaded) -> Video:
    probe, sha256 = _probed_and_hashed(downloaded.path, too_long=ytdlp.PermanentIngestError)
    meta = downloaded.metadata
    twin = _twin_of(video, sha256, meta)
    if twin is not None:
        return _video_mark_duplicate(video, twin)
    name = _store_file(downloaded.path, sha256, probe.extension)
    try:
        with transaction.atomic():
            Video.objects.filter(pk=video.pk).update(
                extractor=meta.extractor,
                external_id=meta.external_id,
                url=clean_text(meta.webpage_url, 2000),
                title=clean_text(meta.title, 500) or video.title,
                uploader=clean_text(meta.uploader, 255),
                channel=clean_text(meta.channel, 255),
                duration_seconds=probe.duration_seconds,
                upload_date=meta.upload_date,
                licence=clean_text(meta.licence, 255),
                thumbnail_url=clean_text(meta.thumbnail_url, 2000),
                info=clean_json(downloaded.info),
                file=name,
                sha256=sha256,
                status=Video.Status.DOWNLOADED,
                error="",
                progress={**video.progress, "status": "finished", "percent": 100.0},
                downloaded_at=timezone.now(),
            )
    except IntegrityError:
        # Another worker stored the same file (or the same extractor id) a moment ago.
        return _video_mark_duplicate(video, _twin_of(video, sha256, meta))
    except Exception:
        _remove_stored_file(name)
        raise
    ytdlp.record_in_archive(downloaded.info, download_policy())
    shutil.rmtree(video_work_dir(video), ignore_errors=True)
    video.refresh_from_db()
    return video


def _twin_of(video: Video, sha256: str, meta: ytdlp.VideoMetadata) -> Video | None:
    """Another video with the same file, or the same extractor id under its real (post-download) name."""
    others = Video.objects.exclude(pk=video.pk)
    return (
        others.filter(sha256=sha256).first()
        or others.filter(extractor=meta.extractor, external_id=meta.external_id).first()
    )


def _video_mark_duplicate(video: Video, twin: Video | None) -> Video:
    shutil.rmtree(video_work_dir(video), ignore_errors=True)
    Video.objects.filter(pk=video.pk).update(
        status=Video.Status.DUPLICATE,
        duplicate_of=twin,
        progress={},
        error=f"the same video as #{twin.pk}" if twin else "a duplicate of another video",
    )
    video.refresh_from_db()
    return video


# What has no place in stored text from the web or a file system: control characters other than
# tab and line breaks (NUL, which PostgreSQL refuses; terminal escapes; bells), and the
# bidirectional overrides and isolates that make a title read backwards ("\u202egnp.exe").
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# Lone surrogates: the undecodable bytes of a file name, as Python holds them. UTF-8 has no such
# characters, so PostgreSQL could not store them.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


# No field of yt-dlp's info needs more; a hostile page can make its title megabytes long.
_JSON_STRING_LIMIT = 10_000


def clean_text(text: str, limit: int) -> str:
    """Text from the web or a file name, made storable and inert: no control characters or
    bidirectional overrides, undecodable bytes as U+FFFD, and within the column's limit."""
    return _LONE_SURROGATE.sub("\ufffd", _INVISIBLE.sub("", text or ""))[:limit]


def clean_json(value: object) -> object:
    """The same for JSON, keys included, with strings of at most 10,000 characters."""
    if isinstance(value, str):
        return clean_text(value, _JSON_STRING_LIMIT)
    if isinstance(value, dict):
        return {clean_json(str(key)): clean_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(item) for item in value]
    return value


def video_can_retry(video: Video) -> bool:
    """Failed, or left "downloading" by a worker that died (no worker holds its lock)."""
    if video.status == Video.Status.FAILED:
        return True
    if video.status in {Video.Status.DOWNLOADING, Video.Status.PENDING} and not video.file:
        with _advisory_lock(_LOCK_VIDEO, video.pk, wait_seconds=0) as free:
            return free
    return False


def video_retry(*, video: Video) -> Video:
    """Put a failed or stuck video back in line; its partial download, if any, will resume."""
    if video_can_retry(video):
        Video.objects.filter(pk=video.pk).update(status=Video.Status.PENDING, error="")
    video.refresh_from_db()
    return video


def local_file_import(*, source: Source, path: Path) -> Video:
    """Copy one local video file into the catalog. NotAVideo if it is not one; a file already
    in the catalog (same sha256) returns the existing Video."""
    probe, sha256 = _probed_and_hashed(path, too_long=VideoTooLarge)
    existing = Video.objects.filter(sha256=sha256).first()
    if existing is not None:
        return existing
    staging = Path(settings.INGEST_WORK_DIR) / f"local-{sha256}.tmp"
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(path, staging)
        name = _store_file(staging, sha256, probe.extension)
    finally:
        staging.unlink(missing_ok=True)
    try:
        with transaction.atomic():
            return Video.objects.create(
                source=source,
                extractor="local",
                external_id=sha256,
                title=clean_text(path.stem, 500),
                duration_seconds=probe.duration_seconds,
                file=name,
                sha256=sha256,
                status=Video.Status.DOWNLOADED,
                downloaded_at=timezone.now(),
                info={
                    "local_path": clean_text(str(path), 4096),
                    "width": probe.width,
                    "height": probe.height,
                    "codec": probe.video_codec,
                },
            )
    except Exception:
        _remove_stored_file(name)
        raise


def _int_or_none(value: object) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
