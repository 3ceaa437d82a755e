"""Cut: one snippet file per accepted reading, cut with ffmpeg."""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings

from catalog import stages
from catalog.models import Snippet, TimeReading, Video
from catalog.services.work import (
    _gpu_for_ffmpeg,
    _snippet_leftovers_remove,
    _stage_errors,
    _video_work,
    snippet_files_remove,
)
from pipeline.ingest.probe import VideoProbe, probe_video

logger = logging.getLogger(__name__)


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
    is noted on the video, which stays scanned (status `processed`); a full disk raises DiskFull."""
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
        with _stage_errors(video, stages.CUT, Path(settings.MEDIA_ROOT) / "snippets"):
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
