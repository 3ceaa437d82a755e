"""Live: the schedule rendered as video, per minute (exports) and as HLS segments (the live page)."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings

from catalog import selectors
from catalog.selectors import ScheduledClip
from catalog.services.work import _gpu_for_ffmpeg
from pipeline.clock_time import format_minute_of_day

logger = logging.getLogger(__name__)


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
    from pipeline.fonts import card_font

    label = format_minute_of_day(scheduled.minute_of_day)
    return render_sequence(_scheduled_sources(scheduled), out, size=size, card_text=label, font=card_font(),
                           segment_seconds=segment_seconds, preset=preset, gpu=_gpu_for_ffmpeg())  # fmt: skip


def live_segments_render(*, unix_minute: int, tz: ZoneInfo) -> Path:
    """The HLS segments of one wall-clock minute in `tz`, rendered once (a file lock keeps other
    workers from rendering the same minute) and kept for LIVE_KEEP_MINUTES. Returns their folder."""
    from pipeline.schedule.hls import SEGMENT_SECONDS

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
