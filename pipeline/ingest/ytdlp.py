"""The yt-dlp adapter: the only module that imports yt_dlp.

It turns sources into `DiscoveredVideo`s and downloads one video into a work directory,
through yt-dlp's Python API (no subprocess, no parsing of its output). Everything a
curator feeding thousands of videos relies on is yt-dlp's own machinery, configured here:
format choice, duration and size limits, the download archive, resume of partial files,
retries with backoff, polite sleeps and a rate limit.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yt_dlp
from yt_dlp.utils import unsmuggle_url

from pipeline.ingest.url_safety import GuardReport, UnsafeURL, check_url, guarded_connections

logger = logging.getLogger(__name__)

# Keys of yt-dlp's info dict that are large, private or only useful to yt-dlp itself.
_INFO_KEYS_DROPPED = frozenset(
    {"formats", "requested_formats", "thumbnails", "automatic_captions", "subtitles", "http_headers",
     "requested_downloads", "requested_subtitles", "heatmap", "fragments", "entries", "__files_to_move",
     "cookies", "filepath", "__postprocessors", "_filename", "filename", "__real_download"}
)  # fmt: skip
_MAX_RETRY_SLEEP_SECONDS = 60.0


class IngestError(Exception):
    """A source or download failed; the message is for curators. Retrying may help."""


class PermanentIngestError(IngestError):
    """Retrying cannot help: the URL is refused, the video breaks a limit, or it was fetched before."""


@dataclass(frozen=True)
class DownloadPolicy:
    """How politely and within which limits to fetch. Defaults suit one curator's machine."""

    max_height: int = 720
    max_duration_seconds: float = 4 * 3600
    max_filesize_bytes: int = 2 * 1024**3
    rate_limit_bytes_per_second: int | None = None
    sleep_between_requests_seconds: float = 1.0
    sleep_before_download_seconds: float = 0.0
    retries: int = 10
    allow_loopback: bool = False
    archive_path: Path | None = None
    ffmpeg_path: str | None = None
    socket_timeout_seconds: float = 30.0


@dataclass(frozen=True)
class DiscoveredVideo:
    extractor: str
    external_id: str
    url: str
    title: str = ""
    duration_seconds: float | None = None
    expected_bytes: int | None = None
    in_archive: bool = False


@dataclass(frozen=True)
class Discovery:
    """What a source expanded to: one video, or the first entries of a playlist or search."""

    is_playlist: bool
    title: str
    entries: tuple[DiscoveredVideo, ...]


@dataclass(frozen=True)
class Progress:
    status: str  # "downloading" | "finished" | "error"
    downloaded_bytes: int
    total_bytes: int | None
    speed_bytes_per_second: float | None
    eta_seconds: float | None

    @property
    def percent(self) -> float | None:
        if not self.total_bytes:
            return None
        return min(100.0, 100.0 * self.downloaded_bytes / self.total_bytes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "percent": None if self.percent is None else round(self.percent, 1),
            "downloaded_bytes": self.downloaded_bytes,
            "total_bytes": self.total_bytes,
            "speed": None if self.speed_bytes_per_second is None else round(self.speed_bytes_per_second),
            "eta": None if self.eta_seconds is None else round(self.eta_seconds),
        }


@dataclass(frozen=True)
class VideoMetadata:
    extractor: str
    external_id: str
    title: str
    uploader: str
    channel: str
    duration_seconds: float | None
    upload_date: date | None
    webpage_url: str
    licence: str
    thumbnail_url: str


@dataclass(frozen=True)
class Downloaded:
    path: Path
    metadata: VideoMetadata
    info: dict[str, Any] = field(repr=False)


ProgressCallback = Callable[[Progress], None]


# -- identity ------------------------------------------------------------------------------


def video_identity(info: dict[str, Any], url: str | None = None) -> tuple[str, str]:
    """(extractor, external id) for an info dict or playlist entry.

    yt-dlp's generic extractor names a direct file by its base name, so two sites'
    `clip.mp4` would collide; for it the identity is a hash of the URL instead."""
    extractor = str(info.get("extractor_key") or info.get("ie_key") or "generic").lower()
    if extractor == "generic":
        page = url or info.get("webpage_url") or info.get("url") or ""
        return "generic", "url-" + hashlib.sha256(page.encode()).hexdigest()[:40]
    if not info.get("id"):
        return video_identity({"extractor_key": "generic"}, url or info.get("webpage_url") or info.get("url"))
    return extractor, str(info["id"])


class _ClockwebYoutubeDL(yt_dlp.YoutubeDL):
    def _make_archive_id(self, info_dict: dict[str, Any]) -> str | None:
        # Archive lines use our identity, so generic downloads from different sites never collide.
        if str(info_dict.get("extractor_key") or info_dict.get("ie_key") or "").lower() == "generic":
            return "generic " + video_identity(info_dict, info_dict.get("webpage_url") or info_dict.get("url"))[1]
        return super()._make_archive_id(info_dict)


class _Logger:
    """yt-dlp's messages go to our log; its errors are kept to explain a failure."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.notes: list[str] = []

    def debug(self, message: str) -> None:
        self.notes.append(message)
        logger.debug("yt-dlp: %s", message)

    def info(self, message: str) -> None:
        self.notes.append(message)
        logger.debug("yt-dlp: %s", message)

    def warning(self, message: str) -> None:
        logger.info("yt-dlp: %s", message)

    def error(self, message: str) -> None:
        self.errors.append(message)
        logger.warning("yt-dlp: %s", message)


def _backoff(n: int) -> float:
    return min(_MAX_RETRY_SLEEP_SECONDS, 2.0 ** min(n, 6))


def _base_options(policy: DownloadPolicy, log: _Logger) -> dict[str, Any]:
    options: dict[str, Any] = {
        "logger": log,
        "quiet": True,
        "no_warnings": False,
        "noprogress": True,
        "noplaylist": True,
        "socket_timeout": policy.socket_timeout_seconds,
        "retries": policy.retries,
        "fragment_retries": policy.retries,
        "extractor_retries": 3,
        "file_access_retries": 3,
        "retry_sleep_functions": {"http": _backoff, "fragment": _backoff, "extractor": _backoff},
        "sleep_interval_requests": policy.sleep_between_requests_seconds,
        # The connection guard is per thread; parallel fragment threads would bypass it.
        "concurrent_fragment_downloads": 1,
        # yt-dlp's own downloaders only: an ffmpeg or aria2c subprocess would fetch outside the
        # guard. (pycryptodomex lets the native HLS downloader handle AES-128 streams itself.)
        "external_downloader": {"default": "native"},
        "restrictfilenames": True,
        "windowsfilenames": True,
        "cachedir": False,
    }
    if policy.ffmpeg_path:
        options["ffmpeg_location"] = policy.ffmpeg_path
    return options


def _explain(error: Exception, guard: GuardReport, log: _Logger) -> str:
    if guard.refused:
        return guard.refused
    for candidate in (str(error), *reversed(log.errors)):
        text = re.sub(r"^(ERROR:\s*)?(\[[\w:]+\]\s*)?", "", candidate.strip())
        if text:
            line = text.splitlines()[0]
            return next((clear for words, clear in _CLEARER.items() if words in line), line)
    return type(error).__name__


# yt-dlp's words for some failures, and what a curator should read instead.
_CLEARER = {
    "Did not get any data blocks": "the server sent an empty file",
    # requests' words for a redirect to file:, ftp: and the like.
    "No connection adapters were found": "the server redirected to an address that is not http or https",
}


def _is_permanent(message: str) -> bool:
    return any(
        marker in message
        for marker in ("Unsupported URL", "is not a valid URL", "HTTP Error 404", "HTTP Error 410",
                       "Private video", "Video unavailable", "larger than max-filesize", "an empty file",
                       "not http or https")
    )  # fmt: skip


# -- discovery -----------------------------------------------------------------------------


def discover(locator: str, *, limit: int, policy: DownloadPolicy) -> Discovery:
    """Expand a URL, playlist, channel or search into at most `limit` videos, without downloading them."""
    if locator.startswith(("http://", "https://")):
        _check(locator, policy)
    log = _Logger()
    options = _base_options(policy, log) | {
        "download_archive": str(policy.archive_path) if policy.archive_path else None,
        "extract_flat": "in_playlist",
        "playlistend": limit,
        "noplaylist": False,
        "skip_download": True,
    }
    with guarded_connections(allow_loopback=policy.allow_loopback) as guard, _ClockwebYoutubeDL(options) as ydl:
        try:
            info = ydl.extract_info(locator, download=False)
        except Exception as error:
            message = _explain(error, guard, log)
            permanent = guard.refused is not None or _is_permanent(message)
            raise (PermanentIngestError if permanent else IngestError)(message) from None
        if info is None:
            raise IngestError(log.errors[-1] if log.errors else "yt-dlp found nothing at this source")
        is_playlist = info.get("_type") == "playlist" or "entries" in info
        raw_entries = list(info.get("entries") or [])[:limit] if is_playlist else [info]
        entries = []
        for entry in raw_entries:
            if not entry:
                continue
            url = entry.get("webpage_url") or entry.get("url") or (locator if not is_playlist else None)
            if not url:
                continue
            url, _ = unsmuggle_url(url)
            extractor, external_id = video_identity(entry, url)
            entries.append(
                DiscoveredVideo(
                    extractor=extractor,
                    external_id=external_id,
                    url=url,
                    title=str(entry.get("title") or "")[:500],
                    duration_seconds=_float(entry.get("duration")),
                    expected_bytes=_int(entry.get("filesize") or entry.get("filesize_approx")),
                    in_archive=ydl.in_download_archive(
                        {"extractor_key": extractor, "id": external_id, "webpage_url": url}
                    ),
                )
            )
    return Discovery(is_playlist=is_playlist, title=str(info.get("title") or ""), entries=tuple(entries))


def _check(url: str, policy: DownloadPolicy) -> None:
    try:
        check_url(url, allow_loopback=policy.allow_loopback)
    except UnsafeURL as unsafe:
        raise PermanentIngestError(str(unsafe)) from None


# -- download ------------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


def download(
    url: str, *, work_dir: Path, policy: DownloadPolicy, on_progress: ProgressCallback | None = None
) -> Downloaded:
    """Download one video into `work_dir` as `media.<ext>`, resuming a partial file left there.

    File names never come from metadata: yt-dlp writes to a fixed template in our own
    directory. Raises PermanentIngestError when retrying cannot help, IngestError otherwise."""
    _check(url, policy)
    work_dir.mkdir(parents=True, exist_ok=True)
    log = _Logger()
    refusal: list[str] = []

    def match_filter(info: dict[str, Any], *, incomplete: bool) -> str | None:
        duration = _float(info.get("duration"))
        if duration is not None and duration > policy.max_duration_seconds:
            refusal.append(too_long(duration, policy.max_duration_seconds))
        elif info.get("is_live") or info.get("live_status") in {"is_live", "is_upcoming"}:
            refusal.append("live streams are not downloaded")
        return refusal[-1] if refusal else None

    def hook(status: dict[str, Any]) -> None:
        downloaded = int(status.get("downloaded_bytes") or 0)
        if downloaded > policy.max_filesize_bytes:
            # Servers that send no Content-Length get past max_filesize; stop them here.
            raise _TooLarge(f"the file is too large (over the limit of {human_bytes(policy.max_filesize_bytes)})")
        if on_progress is not None:
            on_progress(
                Progress(
                    status=str(status.get("status")),
                    downloaded_bytes=downloaded,
                    total_bytes=_int(status.get("total_bytes") or status.get("total_bytes_estimate")),
                    speed_bytes_per_second=_float(status.get("speed")),
                    eta_seconds=_float(status.get("eta")),
                )
            )

    height = policy.max_height
    options = _base_options(policy, log) | {
        "paths": {"home": str(work_dir), "temp": str(work_dir)},
        "outtmpl": {"default": "media.%(ext)s"},
        "continuedl": True,
        "overwrites": False,
        "format": f"bv*[height<=?{height}]+ba/b[height<=?{height}]",
        "format_sort": [f"res:{height}", "vcodec:h264", "acodec:aac", "ext:mp4:m4a"],
        "merge_output_format": "mp4",
        "max_filesize": policy.max_filesize_bytes,
        "match_filter": match_filter,
        "progress_hooks": [hook],
        "ratelimit": policy.rate_limit_bytes_per_second,
    }
    if policy.sleep_before_download_seconds > 0:
        options["sleep_interval"] = policy.sleep_before_download_seconds
    with guarded_connections(allow_loopback=policy.allow_loopback) as guard, _ClockwebYoutubeDL(options) as ydl:
        try:
            info = ydl.extract_info(url, download=True)
        except _TooLarge as too_large:
            raise PermanentIngestError(str(too_large)) from None
        except Exception as error:
            cause = getattr(error, "exc_info", None)
            if cause and isinstance(cause[1], _TooLarge):
                raise PermanentIngestError(str(cause[1])) from None
            message = _explain(error, guard, log)
            permanent = guard.refused is not None or _is_permanent(message)
            raise (PermanentIngestError if permanent else IngestError)(message) from None
        if refusal:
            raise PermanentIngestError(refusal[-1])
        if info is None:
            raise IngestError(log.errors[-1] if log.errors else "yt-dlp returned nothing")
        downloads = info.get("requested_downloads") or []
        path = Path(downloads[0]["filepath"]) if downloads and downloads[0].get("filepath") else None
        too_large = next((note for note in log.notes if "larger than max-filesize" in note), None)
        if too_large:
            sizes = re.search(r"\((\d+) bytes > (\d+) bytes\)", too_large)
            size = f"{human_bytes(int(sizes.group(1)))}, " if sizes else ""
            raise PermanentIngestError(
                f"the file is too large ({size}the limit is {human_bytes(policy.max_filesize_bytes)})"
            )
        if path is None or not path.exists():
            raise IngestError(_explain(Exception(log.errors[-1] if log.errors else "no file was written"), guard, log))
        sanitized = ydl.sanitize_info(info, remove_private_keys=True)
    return Downloaded(path=path, metadata=metadata_from_info(info, url), info=trim_info(sanitized))


def record_in_archive(info: dict[str, Any], policy: DownloadPolicy) -> None:
    """Write a stored video into yt-dlp's download archive, so no later discovery fetches it again.

    Done by the caller once the file is verified and saved, not by yt-dlp when its download ends:
    a file that then fails verification must stay fetchable."""
    if policy.archive_path is None:
        return
    policy.archive_path.parent.mkdir(parents=True, exist_ok=True)
    options = {"download_archive": str(policy.archive_path), "quiet": True, "logger": _Logger()}
    with _ClockwebYoutubeDL(options) as ydl:
        ydl.record_download_archive(info)


def trim_info(info: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in info.items() if key not in _INFO_KEYS_DROPPED}


def metadata_from_info(info: dict[str, Any], url: str) -> VideoMetadata:
    extractor, external_id = video_identity(info, url)
    return VideoMetadata(
        extractor=extractor,
        external_id=external_id,
        title=str(info.get("title") or info.get("id") or "")[:500],
        uploader=str(info.get("uploader") or "")[:255],
        channel=str(info.get("channel") or "")[:255],
        duration_seconds=_float(info.get("duration")),
        upload_date=_date(info.get("upload_date")),
        webpage_url=str(info.get("webpage_url") or url)[:2000],
        licence=str(info.get("license") or "")[:255],
        thumbnail_url=str(info.get("thumbnail") or "")[:2000],
    )


def too_long(duration_seconds: float, limit_seconds: float) -> str:
    return f"the video lasts {_clock(duration_seconds)}, over the limit of {_clock(limit_seconds)}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def _float(value: object) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _int(value: object) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


def _date(value: object) -> date | None:
    try:
        return datetime.strptime(str(value), "%Y%m%d").date() if value else None
    except ValueError:
        return None


def is_search_locator(locator: str) -> bool:
    """True when yt-dlp reads `locator` as a search ("ytsearch5:clocks", "scsearch:tick")."""
    for extractor in yt_dlp.extractor.gen_extractor_classes():
        if extractor.suitable(locator):
            return "Search" in extractor.ie_key() and not locator.startswith(("http://", "https://"))
    return False
