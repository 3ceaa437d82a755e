"""Scan: find the clocks in a downloaded video and store their sightings and readings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.ml import ScanUnavailable, scan_models
from catalog.models import ClockSighting, Snippet, TimeReading, Video
from catalog.services.work import _video_work, snippet_files_remove
from pipeline.read.fit import ACCEPT_CONFIDENCE

if TYPE_CHECKING:  # the scan stack imports torch; web processes never need it
    from pipeline.scan.stage import ScanResult

logger = logging.getLogger(__name__)


def video_scan(*, video: Video, progress: Callable[[float], None] | None = None, prepass: bool = False) -> Video:
    """Find the clocks in a downloaded video and store their sightings and readings.

    Re-running replaces what an earlier scan stored. A video that can't be read to its end keeps
    what was read, with the reason in its error; one that can't be read at all is failed."""
    from pipeline.frames import FrameReadError
    from pipeline.scan.stage import ScanOptions, scan_video

    if not video.file:
        raise ValueError(f"video #{video.pk} has no file to scan (status {video.status})")
    try:
        detector, reader = scan_models()
    except ScanUnavailable as unavailable:
        # Not the video's fault: it stays downloaded, ready for when the models are there.
        Video.objects.filter(pk=video.pk).update(error=str(unavailable)[:2000])
        raise
    with _video_work(video):
        Video.objects.filter(pk=video.pk).update(status=Video.Status.SCANNING, error="")
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
        status=Video.Status.SCANNED, error=error[:2000], info={**video.info, "scan": summary},
        # updated_at by hand: update() skips auto_now, and search caches boundaries by it.
        shot_boundaries=list(result.shot_boundaries), updated_at=timezone.now(),
    )  # fmt: skip
