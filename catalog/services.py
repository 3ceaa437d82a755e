"""All writes to the catalog. Keyword-only arguments; names are <thing>_<verb>."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog import selectors
from catalog.models import (
    ClockSighting,
    Concept,
    FrameTag,
    SceneEmbedding,
    Snippet,
    Source,
    TimeReading,
    Video,
    WorkerHeartbeat,
)
from catalog.selectors import ScheduledClip
from pipeline import ytdlp
from pipeline.clock_time import ClockTime, Meridiem, format_minute_of_day
from pipeline.ffmpeg import ffmpeg_binary
from pipeline.fit import ACCEPT_CONFIDENCE
from pipeline.ingest import Locator, LocatorKind, LocatorRefused, parse_locator
from pipeline.probe import NotAVideo, VideoProbe, VideoTooLarge, probe_video
from pipeline.ytdlp import ProgressCallback

if TYPE_CHECKING:  # the scan stack imports torch; web processes never need it
    from pipeline.detector import ClockDetector
    from pipeline.embedder import ClipEmbedder
    from pipeline.reader import ClockReader
    from pipeline.scan import ScanResult

logger = logging.getLogger(__name__)

# Namespaces for PostgreSQL advisory locks (pg_advisory_lock(namespace, key)).
_LOCK_VIDEO = 7001
_LOCK_DOWNLOAD_SLOT = 7002
# Scan, cut and embed of one video: one at a time, on any machine (see _video_work).
_LOCK_VIDEO_WORK = 7003


def source_create(
    *, kind: str, locator: str, max_items: int | None = None, created_by: AbstractBaseUser | None = None
) -> Source:
    source = Source(kind=kind, locator=locator.strip(), max_items=max_items, created_by=created_by)
    source.full_clean()
    source.save()
    return source


@transaction.atomic
def readings_verify(*, readings: QuerySet[TimeReading], user: AbstractBaseUser) -> int:
    """Mark readings as checked by a curator; their time stays as it is."""
    return readings.update(verified_by=user, verified_at=timezone.now(), status=TimeReading.Status.ACCEPTED)


def worker_heartbeat(*, queue: str, host: str, pid: int, started_at: datetime) -> None:
    """Record that a task worker process is alive now."""
    WorkerHeartbeat.objects.update_or_create(
        host=host, pid=pid, defaults={"queue": queue, "started_at": started_at, "seen_at": timezone.now()}
    )


def worker_heartbeats_prune(*, older_than_seconds: float = 86400) -> int:
    """Forget workers not seen for a day (their processes are long gone)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return WorkerHeartbeat.objects.filter(seen_at__lt=cutoff).delete()[0]


def worker_task_set(*, queue: str, host: str, pid: int, started_at: datetime, task: dict[str, object]) -> None:
    """Record the task a worker process runs now ({} once it is done), so that the task can be
    handed out again at once if the process dies in the middle of it."""
    WorkerHeartbeat.objects.update_or_create(
        host=host, pid=pid, defaults={"queue": queue, "started_at": started_at, "seen_at": timezone.now(), "task": task}
    )


def worker_forget(*, heartbeat: WorkerHeartbeat) -> dict[str, object] | None:
    """Remove the heartbeat of a worker process that has died, and return the task it was running
    ({} when none); None when another process is dealing with it (or did already)."""
    with transaction.atomic():
        row = (
            WorkerHeartbeat.objects.select_for_update(skip_locked=True)
            .filter(pk=heartbeat.pk, started_at=heartbeat.started_at)
            .first()
        )
        if row is None:
            return None
        row.delete()
    return row.task or {}


def video_give_up_after_crashes(*, video_id: int, stage: str, crashes: int) -> None:
    """A stage killed its worker again and again (out of memory, say): stop retrying, and say so.
    A download or scan leaves the video failed; a cut or embed leaves it processed, with the error."""
    message = (
        f"{stage} stopped: the worker died {crashes} times while running it (killed, or out of memory); "
        "it is not retried again on its own"
    )
    fields: dict[str, object] = {"error": message}
    if stage in {"download", "scan"}:
        fields["status"] = Video.Status.FAILED
    Video.objects.filter(pk=video_id).update(**fields)


# -- files a crash or a full disk can leave behind --------------------------------------------


class DiskFull(OSError):
    """No space left where a stage writes its files; the message says where. Nothing partial is kept."""


def _is_disk_full(error: BaseException) -> bool:
    if isinstance(error, DiskFull) or (isinstance(error, OSError) and error.errno in {errno.ENOSPC, errno.EDQUOT}):
        return True
    # ffmpeg and yt-dlp report it in their own words.
    text = str(error)
    return "No space left on device" in text or "Disk quota exceeded" in text


def _disk_full(what: str, folder: Path, error: BaseException) -> DiskFull:
    return DiskFull(f"disk full: no space left for {what} in {folder} ({error})")


@contextmanager
def _stage_errors(video: Video, stage: str, folder: Path) -> Iterator[None]:
    """A failed cut or embed is noted on the video, which stays processed (its sightings are good),
    and cleared by the next run that succeeds; a full disk is raised as DiskFull."""
    try:
        yield
    except Exception as error:
        failure = _disk_full(stage, folder, error) if _is_disk_full(error) else error
        Video.objects.filter(pk=video.pk).update(error=f"{stage} failed: {failure}"[:2000])
        if failure is error:
            raise
        raise failure from error
    Video.objects.filter(pk=video.pk, error__startswith=f"{stage} failed:").update(error="")


def _unreferenced_files_remove(folder: Path, referenced: set[str]) -> int:
    """Delete the files in `folder` (a video's own folder under MEDIA_ROOT) that no row names:
    partial files and leftovers of a run that was killed or failed. Returns how many."""
    removed = 0
    if not folder.is_dir():
        return removed
    media_root = Path(settings.MEDIA_ROOT)
    for path in folder.iterdir():
        if path.is_file() and path.relative_to(media_root).as_posix() not in referenced:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _snippet_leftovers_remove(video: Video) -> int:
    names = {name for pair in Snippet.objects.filter(video=video).values_list("file", "thumbnail") for name in pair}
    media_root = Path(settings.MEDIA_ROOT)
    return sum(
        _unreferenced_files_remove(media_root / kind / str(video.pk), names) for kind in ("snippets", "thumbnails")
    )


def _frame_leftovers_remove(video: Video) -> int:
    names = set(SceneEmbedding.objects.filter(video=video).values_list("thumbnail", flat=True))
    return _unreferenced_files_remove(Path(settings.MEDIA_ROOT) / "frames" / str(video.pk), names)


def media_partials_remove(*, older_than_seconds: float) -> int:
    """Delete partial files of stored videos (`videos/*/.*.part`) older than any task can run:
    what a worker killed while moving a download into place left behind."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in (Path(settings.MEDIA_ROOT) / "videos").glob("*/.*.part"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


@contextmanager
def _video_work(video: Video) -> Iterator[None]:
    """Scan, cut and embed of one video run one at a time, across processes and machines: a second
    run waits for the first, then does the stage again (each is idempotent). The lock is the
    database session's, so a worker that dies gives it up with its connection."""
    with _advisory_lock(_LOCK_VIDEO_WORK, video.pk, wait_seconds=settings.Q_TIMEOUT) as mine:
        if not mine:
            raise VideoBusy(f"video #{video.pk} is still being worked on by another process")
        yield


class VideoBusy(RuntimeError):
    """Another process held the video's work lock for longer than a task may run."""


# -- ingest --------------------------------------------------------------------------------


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
def _advisory_lock(namespace: int, key: int, *, wait_seconds: float) -> Iterator[bool]:
    """A PostgreSQL advisory lock on this connection; released at exit, or by the server if the process dies."""
    deadline = time.monotonic() + wait_seconds
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, key])
            if cursor.fetchone()[0]:
                break
            if time.monotonic() >= deadline:
                yield False
                return
            time.sleep(1.0)
        try:
            yield True
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [namespace, key])


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
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        shutil.move(path, partial)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
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


def _video_store_download(video: Video, downloaded: ytdlp.Downloaded) -> Video:
    probe = probe_video(downloaded.path)
    if probe.duration_seconds > settings.INGEST_MAX_DURATION:
        raise ytdlp.PermanentIngestError(ytdlp.too_long(probe.duration_seconds, settings.INGEST_MAX_DURATION))
    with downloaded.path.open("rb") as handle:
        sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
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
    probe = probe_video(path)
    if probe.duration_seconds > settings.INGEST_MAX_DURATION:
        raise VideoTooLarge(ytdlp.too_long(probe.duration_seconds, settings.INGEST_MAX_DURATION))
    with path.open("rb") as handle:
        sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
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


# -- scan ----------------------------------------------------------------------------------


class ScanUnavailable(RuntimeError):
    """The scan models cannot be loaded; the message says which and how to get them."""


def scan_models() -> tuple[ClockDetector, ClockReader]:
    """The detector and reader named in settings, loaded once per process."""
    from pipeline.detector import load_detector
    from pipeline.reader import load_reader

    def loaded(what: str, path: str, command: str, variable: str, load: Callable[[], object]) -> object:
        try:
            return load()
        except Exception as error:
            raise ScanUnavailable(
                f"cannot load the clock {what} {path} ({type(error).__name__}: {error}); "
                f"train one with `manage.py {command}` or set {variable}"
            ) from error

    detector = loaded("detector", settings.DETECTOR_WEIGHTS, "train_detector", "CLOCKWEB_DETECTOR_WEIGHTS",
                      lambda: load_detector(settings.DETECTOR_WEIGHTS, settings.DEVICE, settings.DETECTOR_CONFIDENCE,
                                            settings.DETECTOR_IMAGE_SIZE))  # fmt: skip
    reader = loaded("reader", settings.READER_WEIGHTS, "train_reader", "CLOCKWEB_READER_WEIGHTS",
                    lambda: load_reader(settings.READER_WEIGHTS, settings.DEVICE,
                                        settings.DISPLAY_READER_WEIGHTS))  # fmt: skip
    return detector, reader


def video_scan(*, video: Video, progress: Callable[[float], None] | None = None, prepass: bool = False) -> Video:
    """Find the clocks in a downloaded video and store their sightings and readings.

    Re-running replaces what an earlier scan stored. A video that can't be read to its end keeps
    what was read, with the reason in its error; one that can't be read at all is failed."""
    from pipeline.frames import FrameReadError
    from pipeline.scan import ScanOptions, scan_video

    if not video.file:
        raise ValueError(f"video #{video.pk} has no file to scan (status {video.status})")
    try:
        detector, reader = scan_models()
    except ScanUnavailable as unavailable:
        # Not the video's fault: it stays downloaded, ready for when the models are there.
        Video.objects.filter(pk=video.pk).update(error=str(unavailable)[:2000])
        raise
    with _video_work(video):
        Video.objects.filter(pk=video.pk).update(status=Video.Status.PROCESSING, error="")
        path = Path(settings.MEDIA_ROOT) / video.file.name
        try:
            result = scan_video(path, detector=detector, reader=reader,
                                options=ScanOptions(samples_per_second=settings.SCAN_SAMPLES_PER_SECOND,
                                                    keyframe_prepass=prepass),
                                progress=progress)  # fmt: skip
        except FrameReadError as error:
            Video.objects.filter(pk=video.pk).update(status=Video.Status.FAILED, error=str(error)[:2000])
            video.refresh_from_db()
            return video
        except Exception as error:
            Video.objects.filter(pk=video.pk).update(
                status=Video.Status.FAILED,
                error=f"internal error while scanning: {type(error).__name__}: {error}"[:2000],
            )
            raise
        except BaseException as error:
            # A task timeout (django-q2 raises SystemExit) or Ctrl-C: never leave it "processing".
            Video.objects.filter(pk=video.pk).update(
                status=Video.Status.FAILED, error=f"interrupted while scanning: {type(error).__name__}"
            )
            raise
        scan_store(video=video, result=result)
    video.refresh_from_db()
    return video


@transaction.atomic
def scan_store(*, video: Video, result: ScanResult) -> None:
    """Replace the video's sightings and readings with a scan's, in one transaction. Snippets cut
    from the old readings go with them, and their files once the transaction has committed."""
    old_files = [name for pair in Snippet.objects.filter(video=video).values_list("file", "thumbnail") for name in pair]
    transaction.on_commit(lambda: snippet_files_remove(old_files))
    ClockSighting.objects.filter(video=video).delete()
    for scanned in result.sightings:
        sighting = ClockSighting.objects.create(
            video=video,
            start_seconds=max(0.0, scanned.sighting.start_second),
            end_seconds=max(scanned.sighting.start_second, scanned.sighting.end_second),
            kind=scanned.kind if scanned.kind in ClockSighting.Kind.values else ClockSighting.Kind.UNKNOWN,
            boxes=scanned.sighting.box_track(),
            confidence=min(1.0, max(0.0, scanned.sighting.confidence)),
            rejection=scanned.rejection or "",
        )
        if scanned.fitted is not None:
            fitted = scanned.fitted
            method = scanned.method if scanned.method in TimeReading.Method.values else TimeReading.Method.ANALOG_MODEL
            TimeReading.objects.create(
                sighting=sighting,
                hour=fitted.hour,
                minute=fitted.minute,
                meridiem=fitted.meridiem,
                confidence=min(1.0, max(0.0, fitted.confidence)),
                method=method,
                status=TimeReading.Status.ACCEPTED
                if fitted.confidence >= ACCEPT_CONFIDENCE
                else TimeReading.Status.UNCERTAIN,
                shown_at_seconds=fitted.shown_at_second,
            )
    summary = {"frames": result.frames, "seconds": round(result.seconds_scanned, 2),
               "shots": len(result.shot_boundaries) + 1, "detections": result.detections,
               "sightings": len(result.sightings)}  # fmt: skip
    error = f"read only the first {result.seconds_scanned:.1f} s: {result.error}" if result.error else ""
    Video.objects.filter(pk=video.pk).update(
        status=Video.Status.PROCESSED, error=error[:2000], info={**video.info, "scan": summary},
        # updated_at by hand: update() skips auto_now, and search caches boundaries by it.
        shot_boundaries=list(result.shot_boundaries), updated_at=timezone.now(),
    )  # fmt: skip


# -- cut ------------------------------------------------------------------------------------


def _gpu_for_ffmpeg() -> bool | None:
    choice = settings.FFMPEG_GPU.lower()
    return None if choice == "auto" else choice in {"1", "on", "true", "yes"}


def snippet_window(*, reading: TimeReading, video_duration: float, context: float,
                   shot_boundaries: list[float] | tuple[float, ...] = ()) -> tuple[float, float]:  # fmt: skip
    """The stretch of the video to cut for a reading: where its clock is on screen and shows the
    read minute (at most the sixty seconds after "shown at"), with some context either side, but
    never past a shot change: the next shot may show another clock at another time."""
    sighting = reading.sighting
    clock_from = max(sighting.start_seconds, reading.shown_at_seconds)
    # The last detection was at end_seconds; the clock stays on screen until the next sample.
    clock_until = min(sighting.end_seconds + 1 / settings.SCAN_SAMPLES_PER_SECOND, reading.shown_at_seconds + 60)
    if clock_until <= clock_from:  # the clock's minute and the sighting barely meet; keep the sighting
        clock_from, clock_until = sighting.start_seconds, sighting.end_seconds + 0.5
    shot_start = max((cut for cut in shot_boundaries if cut <= sighting.start_seconds), default=0.0)
    # A boundary is the first sampled frame of the new shot; the cut itself lies up to one sample
    # interval before it.
    shot_end = min((cut for cut in shot_boundaries if cut > sighting.end_seconds), default=float("inf"))
    shot_end -= 1 / settings.SCAN_SAMPLES_PER_SECOND
    start = max(0.0, shot_start, clock_from - context)
    end = min(shot_end, clock_until + context)
    if video_duration > 0:
        end = min(end, video_duration)
    return start, max(end, start + 0.5)


def video_cut(*, video: Video) -> list[Snippet]:
    """Cut a snippet for every accepted reading of the video that has none yet (idempotent: a
    reading with a ready snippet whose file exists is skipped; files have fixed names). Files no
    snippet names (left by a run that was killed, or by a scan since) are deleted first. A failure
    is noted on the video, which stays processed; a full disk raises DiskFull."""
    if not video.file:
        raise ValueError(f"video #{video.pk} has no file to cut from (status {video.status})")
    source = Path(settings.MEDIA_ROOT) / video.file.name
    with _video_work(video):
        # Leftovers go before the source is probed, so that a source that can no longer be cut
        # does not keep the files of clips whose rows are gone.
        _snippet_leftovers_remove(video)
        probe = probe_video(source)
        video.refresh_from_db(fields=["shot_boundaries", "error"])  # a scan may have run while we waited
        accepted = TimeReading.objects.filter(sighting__video=video, status=TimeReading.Status.ACCEPTED)
        readings = accepted.select_related("sighting")
        made = []
        with _stage_errors(video, "cutting", Path(settings.MEDIA_ROOT) / "snippets"):
            for reading in readings:
                existing = Snippet.objects.filter(reading=reading).first()
                if (
                    existing is not None
                    and existing.status == Snippet.Status.READY
                    and existing.file
                    and (Path(settings.MEDIA_ROOT) / existing.file.name).exists()
                ):
                    continue
                made.append(_snippet_cut(reading=reading, video=video, source=source, probe=probe))
    return made


def _snippet_cut(*, reading: TimeReading, video: Video, source: Path, probe: VideoProbe) -> Snippet:
    """Cut the clip of one reading and save its snippet (replacing its earlier one; fixed file names)."""
    from pipeline.ffmpeg import cut_clip, extract_thumbnail

    start, end = snippet_window(reading=reading, video_duration=probe.duration_seconds or 0.0,
                                context=settings.SNIPPET_CONTEXT_SECONDS,
                                shot_boundaries=video.shot_boundaries or ())  # fmt: skip
    clip_name = f"snippets/{video.pk}/{reading.pk}.mp4"
    thumb_name = f"thumbnails/{video.pk}/{reading.pk}.jpg"
    clip_path = Path(settings.MEDIA_ROOT) / clip_name
    try:
        cut_clip(source, clip_path, start=start, duration=end - start, has_audio=probe.has_audio,
                 gpu=_gpu_for_ffmpeg())  # fmt: skip
        middle = (max(reading.sighting.start_seconds, start) + min(reading.sighting.end_seconds, end)) / 2 - start
        extract_thumbnail(clip_path, Path(settings.MEDIA_ROOT) / thumb_name, second=min(middle, end - start - 0.1))
    except BaseException:
        # No clip without its thumbnail and row (unless an earlier snippet of the reading names them).
        if not Snippet.objects.filter(reading=reading, file=clip_name).exists():
            snippet_files_remove([clip_name, thumb_name])
        raise
    minute_of_day = reading.clock_time.minutes_of_day[0]
    snippet, _ = Snippet.objects.update_or_create(
        reading=reading,
        defaults={"video": video, "start_seconds": start, "end_seconds": end, "file": clip_name,
                  "thumbnail": thumb_name, "minute_of_day": minute_of_day, "status": Snippet.Status.READY},
    )  # fmt: skip
    return snippet


# -- review (curators confirm and correct readings) -----------------------------------------


class ReviewRefused(ValueError):
    """The review can't be applied as asked; the message says why."""


@dataclass(frozen=True)
class ReviewOutcome:
    reading: TimeReading | None  # None when the curator said there is no clock to read
    snippet: Snippet | None  # the clip now placed at the reading's minute, if there is one
    cut_error: str = ""  # set when the clip could not be cut (the reading is saved all the same)


def sighting_review(*, sighting: ClockSighting, user: AbstractBaseUser, entry: ClockTime | None = None,
                    entry_says_meridiem: bool = False, not_a_clock: bool = False) -> ReviewOutcome:  # fmt: skip
    """Record what a curator says a sighting's clock shows at its review moment
    (selectors.review_crop_second): `entry` (None: the proposal is right), or that it is no clock
    at all. The reading becomes verified and accepted, its clip moves to the minute at once, and a
    sighting that had no reading gets one and its clip. Its earlier proposal is replaced."""
    if not not_a_clock and entry is None and not sighting.readings.exists():
        raise ReviewRefused("this clock has no proposed time to confirm; type the time it shows")
    now = timezone.now()
    with transaction.atomic():
        sighting = ClockSighting.objects.select_for_update().select_related("video").get(pk=sighting.pk)
        readings = list(sighting.readings.order_by("-confidence"))
        ClockSighting.objects.filter(pk=sighting.pk).update(reviewed_by=user, reviewed_at=now)
        if not_a_clock:
            TimeReading.objects.filter(sighting=sighting).update(
                status=TimeReading.Status.REJECTED, verified_by=user, verified_at=now
            )
            Snippet.objects.filter(reading__sighting=sighting).update(status=Snippet.Status.HIDDEN, updated_at=now)
            reading, recut = None, False
        else:
            reading, recut = _reviewed_reading(sighting, readings, user, now, entry, entry_says_meridiem)
            # The other proposals for this clock are wrong if this one is right.
            TimeReading.objects.filter(sighting=sighting).exclude(pk=reading.pk).update(
                status=TimeReading.Status.REJECTED
            )
            Snippet.objects.filter(reading__sighting=sighting).exclude(reading=reading).update(
                status=Snippet.Status.HIDDEN, updated_at=now
            )
            snippet = Snippet.objects.filter(reading=reading).first()
            if snippet is not None and not recut:
                snippet.minute_of_day = reading.clock_time.minutes_of_day[0]
                snippet.status = Snippet.Status.READY if snippet.file else snippet.status
                snippet.save(update_fields=["minute_of_day", "status", "updated_at"])
    transaction.on_commit(selectors.schedule_reset)
    if reading is None:
        selectors.schedule_reset()
        return ReviewOutcome(None, None)
    snippet = Snippet.objects.filter(reading=reading).first()
    cut_error = ""
    if recut or snippet is None or not snippet.file:
        # The clock's minute starts somewhere else now: cut its clip again (a few seconds of ffmpeg).
        try:
            source = Path(settings.MEDIA_ROOT) / sighting.video.file.name
            snippet = _snippet_cut(reading=reading, video=sighting.video, source=source, probe=probe_video(source))
        except Exception as error:  # the correction stands; the clip can be cut again by `process`
            cut_error = f"the reading is saved, but its clip could not be cut: {error}"
    selectors.schedule_reset()
    return ReviewOutcome(reading, snippet, cut_error)


def _reviewed_reading(sighting: ClockSighting, readings: list[TimeReading], user: AbstractBaseUser, now: datetime,
                      entry: ClockTime | None, entry_says_meridiem: bool) -> tuple[TimeReading, bool]:  # fmt: skip
    """The sighting's reading after review, saved, and whether its clip must be cut again."""
    proposal = readings[0] if readings else None
    crop_second = selectors.review_crop_second(sighting, proposal)
    if proposal is not None and entry is None:
        proposal.status, proposal.verified_by, proposal.verified_at = TimeReading.Status.ACCEPTED, user, now
        proposal.save(update_fields=["status", "verified_by", "verified_at"])
        return proposal, False
    meridiem = entry.meridiem
    if not entry_says_meridiem and proposal is not None:
        meridiem = Meridiem(proposal.meridiem)  # "10:42" alone keeps what the reading knew of AM/PM
    # The typed time is what the clock shows at the crop: HH:MM:00 about half a minute before.
    shown_at = crop_second - 30
    fields = {"hour": entry.hour, "minute": entry.minute, "meridiem": meridiem.value, "confidence": 1.0,
              "method": TimeReading.Method.MANUAL, "status": TimeReading.Status.ACCEPTED,
              "shown_at_seconds": shown_at, "verified_by": user, "verified_at": now}  # fmt: skip
    if proposal is None:
        return TimeReading.objects.create(sighting=sighting, **fields), True
    recut = abs(proposal.shown_at_seconds - shown_at) > 1.0
    for name, value in fields.items():
        setattr(proposal, name, value)
    proposal.save()
    return proposal, recut


def review_images(*, sighting: ClockSighting, crop_second: float) -> dict[str, Path]:
    """JPEGs for the review page, made once per sighting and kept under MEDIA_ROOT/review/: the
    clock's crop at `crop_second`, and the whole frame at the sighting's start, middle and end
    with the clock outlined."""
    import cv2

    from pipeline.keyframes import frames_near
    from pipeline.scan import ScanOptions

    folder = Path(settings.MEDIA_ROOT) / "review" / str(sighting.pk)
    names = {"crop": crop_second, "start": sighting.start_seconds,
             "middle": (sighting.start_seconds + sighting.end_seconds) / 2, "end": sighting.end_seconds}  # fmt: skip
    paths = {name: folder / f"{name}.jpg" for name in names}
    if all(path.exists() for path in paths.values()):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    source = Path(settings.MEDIA_ROOT) / sighting.video.file.name
    # Boxes are in the pixels of the frames the scan saw: decode at the scan's size.
    frames = dict(frames_near(source, sorted(set(names.values())), max_side=ScanOptions().max_side))
    for name, second in names.items():
        image = cv2.cvtColor(frames[second], cv2.COLOR_RGB2BGR)
        x, y, width, height = sighting_box_at(sighting, second)
        if name == "crop":
            pad = 0.25 * max(width, height)
            top, left = max(0, round(y - pad)), max(0, round(x - pad))
            image = image[top : round(y + height + pad), left : round(x + width + pad)]
            image = cv2.resize(image, (240, round(240 * image.shape[0] / max(image.shape[1], 1))))
        else:
            image = image.copy()
            cv2.rectangle(image, (round(x), round(y)), (round(x + width), round(y + height)), (78, 193, 242), 2)
            image = cv2.resize(image, (320, round(320 * image.shape[0] / image.shape[1])), interpolation=cv2.INTER_AREA)
        partial = paths[name].with_suffix(".part.jpg")
        cv2.imwrite(str(partial), image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        partial.replace(paths[name])
    return paths


def sighting_box_at(sighting: ClockSighting, second: float) -> tuple[float, float, float, float]:
    """The clock's box (x, y, width, height) in the detection nearest in time to `second`."""
    if not sighting.boxes:
        raise ValueError(f"sighting #{sighting.pk} has no boxes")
    nearest = min(sighting.boxes, key=lambda box: abs(box[0] - second))
    return nearest[1], nearest[2], nearest[3], nearest[4]


def corrections_export(*, out: Path) -> int:
    """Write the readings curators typed or confirmed as a labelled set in `eval_reader`'s format
    (and `train_reader`'s): one frame per clock, at the moment the label describes, and
    labels.csv with file, hour, minute, the clock's box and kind. Returns how many."""
    import cv2

    from pipeline.datasets import LabelRow, write_labels
    from pipeline.keyframes import frames_near
    from pipeline.scan import ScanOptions

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    by_video: dict[int, list[TimeReading]] = {}
    for reading in selectors.reviewed_readings():
        by_video.setdefault(reading.sighting.video_id, []).append(reading)
    for readings in by_video.values():
        video = readings[0].sighting.video
        moments = {}
        for reading in readings:
            # A frame in which the clock shows exactly the labelled minute: within the minute
            # after "shown at", inside the sighting.
            sighting = reading.sighting
            second = min(max(reading.shown_at_seconds + 30, sighting.start_seconds), sighting.end_seconds)
            minutes_on = int((second - reading.shown_at_seconds) // 60)
            moments[reading.pk] = (second, (reading.hour * 60 + reading.minute + minutes_on) % 720)
        source = Path(settings.MEDIA_ROOT) / video.file.name
        frames = dict(frames_near(source, sorted({second for second, _ in moments.values()}),
                                  max_side=ScanOptions().max_side))  # fmt: skip
        for reading in readings:
            second, shown = moments[reading.pk]
            name = f"video{video.pk}-reading{reading.pk}.jpg"
            image = cv2.cvtColor(frames[second], cv2.COLOR_RGB2BGR)
            cv2.imwrite(str(out / name), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
            box = tuple(round(value) for value in sighting_box_at(reading.sighting, second))
            hour, minute = divmod(shown, 60)
            rows.append(LabelRow(name, hour or 12, minute, box, reading.sighting.kind))
    write_labels(out, rows)
    return len(rows)


def snippet_files_remove(names: list[str]) -> None:
    """Delete snippet and thumbnail files (after the rows that named them are gone)."""
    for name in names:
        if name:
            (Path(settings.MEDIA_ROOT) / name).unlink(missing_ok=True)


# -- rendering the schedule (HLS and exports) -------------------------------------------------


def _scheduled_sources(scheduled: ScheduledClip) -> list[tuple[Path | None, float, float]]:
    """The pieces of a minute as files to play; a snippet whose file is missing becomes a card."""
    sources: list[tuple[Path | None, float, float]] = []
    for piece in scheduled.pieces:
        path = Path(settings.MEDIA_ROOT) / piece.snippet.file.name if piece.snippet and piece.snippet.file else None
        sources.append((path if path is not None and path.exists() else None, piece.play_from, piece.length))
    return sources


def minute_render(*, scheduled: ScheduledClip, out: Path, size: tuple[int, int], segment_seconds: float | None = None,
                  preset: str = "veryfast") -> list[Path]:  # fmt: skip
    """Render one minute of the schedule to MPEG-TS (one file, or HLS segments)."""
    from pipeline.ffmpeg import render_sequence
    from pipeline.render import card_font

    label = format_minute_of_day(scheduled.minute_of_day)
    return render_sequence(_scheduled_sources(scheduled), out, size=size, card_text=label, font=card_font(),
                           segment_seconds=segment_seconds, preset=preset, gpu=_gpu_for_ffmpeg())  # fmt: skip


def live_segments_render(*, unix_minute: int, tz: ZoneInfo) -> Path:
    """The HLS segments of one wall-clock minute in `tz`, rendered once (a file lock keeps other
    workers from rendering the same minute) and kept for LIVE_KEEP_MINUTES. Returns their folder."""
    from pipeline.hls import SEGMENT_SECONDS

    starts_at = datetime.fromtimestamp(unix_minute * 60, UTC).astimezone(tz)
    scheduled = selectors.minute_plan(minute_of_day=starts_at.hour * 60 + starts_at.minute, day=starts_at.toordinal())
    folder = _live_folder(tz)
    folder.mkdir(parents=True, exist_ok=True)
    done = folder / f".{unix_minute}.done"
    if done.exists():
        return folder
    with (folder / f".{unix_minute}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be rendering it; then it is there after
        if not done.exists():
            minute_render(scheduled=scheduled, out=folder / f"{unix_minute}.ts", size=settings.LIVE_SIZE,
                          segment_seconds=SEGMENT_SECONDS, preset="ultrafast")  # fmt: skip
            done.touch()
            _live_files_prune(unix_minute)
    return folder


def live_segments_ready(*, unix_minute: int, tz: ZoneInfo) -> bool:
    return (_live_folder(tz) / f".{unix_minute}.done").exists()


def _live_folder(tz: ZoneInfo) -> Path:
    """Where the live segments for a time zone and the current snippets go (new snippets: new folder)."""
    version = hashlib.sha256(repr(selectors.schedule_state_version()).encode()).hexdigest()[:10]
    return Path(settings.MEDIA_ROOT) / "live" / f"{str(tz).replace('/', '_')}-{version}"


def _live_files_prune(unix_minute: int) -> None:
    """Remove live segments of minutes long past, and what a render killed midway left of them."""
    root = Path(settings.MEDIA_ROOT) / "live"
    for path in [*root.glob("*/*.ts"), *root.glob("*/.*.done"), *root.glob("*/.*.lock"), *root.glob("*/.*.part")]:
        try:
            minute = int(path.name.lstrip(".").split("-")[0].split(".")[0])
        except ValueError:
            continue
        if minute < unix_minute - settings.LIVE_KEEP_MINUTES:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


# -- embed (scene search) -----------------------------------------------------------------------


def video_embed(*, video: Video) -> int:
    """Embed keyframes across the whole video (per shot, from the scan's shot boundaries) and a
    representative frame of each of its snippets; replace the video's earlier vectors of this
    model in one transaction. Returns how many were stored. Frame thumbnails no row names (left
    by a run that was killed or failed, or replaced now) are deleted; a full disk raises DiskFull."""
    video.refresh_from_db(fields=["file"])
    if not video.file:
        raise ValueError(f"video #{video.pk} has no file to embed (status {video.status})")
    embedder = selectors.scene_embedder()
    folder = Path(settings.MEDIA_ROOT) / "frames" / str(video.pk)
    with _video_work(video):
        _frame_leftovers_remove(video)
        try:
            with _stage_errors(video, "embedding", folder):
                stored = _video_embed(video, embedder, folder)
        finally:
            _frame_leftovers_remove(video)
    return stored


def _jpeg_write(path: Path, image_rgb: np.ndarray, quality: int) -> None:
    """Write a JPEG whole or not at all; raises OSError (a full disk) where cv2.imwrite says nothing."""
    import cv2

    written, encoded = cv2.imencode(".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR),
                                    [cv2.IMWRITE_JPEG_QUALITY, quality])  # fmt: skip
    if not written:
        raise ValueError(f"could not encode {path.name} as JPEG")
    partial = path.with_name(f".{path.name}.part")
    try:
        partial.write_bytes(encoded.tobytes())
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _video_embed(video: Video, embedder: ClipEmbedder, folder: Path) -> int:
    import cv2

    from pipeline.keyframes import frames_near, keyframe_times

    video.refresh_from_db(fields=["file", "shot_boundaries"])  # the scan may have run since it was loaded
    source = Path(settings.MEDIA_ROOT) / video.file.name
    duration = probe_video(source).duration_seconds or 0.0
    snippet_at: dict[float, Snippet] = {}
    for snippet in Snippet.objects.filter(video=video, status=Snippet.Status.READY).select_related("reading__sighting"):
        sighting = snippet.reading.sighting if snippet.reading else None
        middle = (sighting.start_seconds + sighting.end_seconds) / 2 if sighting else snippet.start_seconds
        snippet_at[round(middle, 3)] = snippet
    times = sorted(
        set(keyframe_times(duration, video.shot_boundaries or (), settings.EMBED_EVERY_SECONDS)) | set(snippet_at)
    )
    frames = list(frames_near(source, times))
    vectors = embedder.embed_images([image for _, image in frames])
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for (second, image), vector in zip(frames, vectors, strict=True):
        name = f"frames/{video.pk}/{round(second * 1000)}.jpg"
        small = cv2.resize(
            image, (round(image.shape[1] * 180 / image.shape[0]) // 2 * 2, 180), interpolation=cv2.INTER_AREA
        )
        _jpeg_write(Path(settings.MEDIA_ROOT) / name, small, 80)
        rows.append(SceneEmbedding(video=video, second=second, snippet=snippet_at.get(second), model_name=embedder.name,
                                   embedding=vector.tolist(), thumbnail=name))  # fmt: skip
    with transaction.atomic():
        SceneEmbedding.objects.filter(video=video, model_name=embedder.name).delete()
        SceneEmbedding.objects.bulk_create(rows)
    return len(rows)


# -- tag (zero-shot concepts) -----------------------------------------------------------------


_DAY_NIGHT = ("a photo taken in daytime", "a photo taken at night")


@lru_cache(maxsize=4)
def _text_vectors(embedder: ClipEmbedder, texts: tuple[str, ...]) -> np.ndarray:
    """The vocabulary's text vectors, embedded once per process and vocabulary, not once per video."""
    return embedder.embed_texts(list(texts))


def video_tag(*, video: Video) -> int:
    """Score the video's embedded frames against the active concepts; keep the tags above
    TAG_THRESHOLD (replacing earlier ones, in one transaction), and propose AM/PM from daytime
    against night for its readings that don't know it. Returns how many frame tags were stored."""
    from pipeline.tagging import concept_probabilities, pair_probability, propose_meridiem

    embedder = selectors.scene_embedder()
    scenes = list(SceneEmbedding.objects.filter(video=video, model_name=embedder.name).order_by("second"))
    concepts = list(Concept.objects.filter(active=True))
    if not scenes or not concepts:
        return 0
    frames = np.array([scene.vector for scene in scenes], np.float32)
    *texts, day, night = _text_vectors(embedder, (*[concept.text for concept in concepts], *_DAY_NIGHT))
    probabilities = concept_probabilities(frames, np.array(texts))
    rows = [
        FrameTag(scene=scene, concept=concept, score=float(probability))
        for scene, row in zip(scenes, probabilities, strict=True)
        for concept, probability in zip(concepts, row, strict=True)
        if probability >= settings.TAG_THRESHOLD
    ]
    daylight = dict(zip([scene.pk for scene in scenes], pair_probability(frames, day, night), strict=True))
    with transaction.atomic():
        FrameTag.objects.filter(scene__video=video).delete()
        FrameTag.objects.bulk_create(rows)
        unknown = TimeReading.objects.filter(sighting__video=video, meridiem=Meridiem.UNKNOWN.value)
        for reading in unknown.select_related("sighting"):
            start, end = reading.sighting.start_seconds - 1, reading.sighting.end_seconds + 1
            near = [daylight[scene.pk] for scene in scenes if start <= scene.second <= end]
            if not near:
                continue
            proposal, confidence = propose_meridiem(reading.hour, float(np.mean(near)))
            TimeReading.objects.filter(pk=reading.pk).update(meridiem_proposal=proposal,
                                                             meridiem_proposal_confidence=confidence)  # fmt: skip
            if proposal != Meridiem.UNKNOWN.value and confidence >= settings.MERIDIEM_ACCEPT_CONFIDENCE:
                _meridiem_accept(reading, Meridiem(proposal))
    return len(rows)


def _meridiem_accept(reading: TimeReading, meridiem: Meridiem) -> None:
    """A sure enough day/night proposal decides the AM/PM a dial can't show: the reading takes it
    (the proposal stays on record) and its clip moves to that half of the day only. A curator's
    word is never overridden: verified readings keep theirs."""
    if reading.is_verified:
        return
    TimeReading.objects.filter(pk=reading.pk).update(meridiem=meridiem.value)
    time = ClockTime(reading.hour, reading.minute, meridiem)
    Snippet.objects.filter(reading=reading).update(minute_of_day=time.minutes_of_day[0], updated_at=timezone.now())
