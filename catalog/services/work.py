"""What every stage shares: the per-video work lock, advisory locks, disk-full errors, and the files
a crash or a full disk can leave behind."""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection

from catalog.models import SceneEmbedding, Snippet, Video
from catalog.stages import Stage
from pipeline.files import written_whole

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)


# Namespaces for PostgreSQL advisory locks (pg_advisory_lock(namespace, key)).
_LOCK_VIDEO = 7001
_LOCK_DOWNLOAD_SLOT = 7002
# Scan, cut and embed of one video: one at a time, on any machine (see _video_work).
_LOCK_VIDEO_WORK = 7003


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
def _stage_errors(video: Video, stage: Stage, folder: Path) -> Iterator[None]:
    """A failed cut or embed is noted on the video, which stays scanned (status `processed`: its sightings are good),
    and cleared by the next run that succeeds; a full disk is raised as DiskFull."""
    try:
        yield
    except Exception as error:
        failure = _disk_full(stage.label, folder, error) if _is_disk_full(error) else error
        Video.objects.filter(pk=video.pk).update(error=f"{stage.label} failed: {failure}"[:2000])
        if failure is error:
            raise
        raise failure from error
    Video.objects.filter(pk=video.pk, error__startswith=f"{stage.label} failed:").update(error="")


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


def _gpu_for_ffmpeg() -> bool | None:
    choice = settings.FFMPEG_GPU.lower()
    return None if choice == "auto" else choice in {"1", "on", "true", "yes"}


def snippet_files_remove(names: list[str]) -> None:
    """Delete snippet and thumbnail files (after the rows that named them are gone)."""
    for name in names:
        if name:
            (Path(settings.MEDIA_ROOT) / name).unlink(missing_ok=True)


def jpeg_write(path: Path, image_rgb: np.ndarray, quality: int) -> None:
    """Write a JPEG whole or not at all; raises OSError (a full disk) where cv2.imwrite says nothing."""
    import cv2

    written, encoded = cv2.imencode(".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR),
                                    [cv2.IMWRITE_JPEG_QUALITY, quality])  # fmt: skip
    if not written:
        raise ValueError(f"could not encode {path.name} as JPEG")
    with written_whole(path, path.with_name(f".{path.name}.part")) as partial:
        partial.write_bytes(encoded.tobytes())
