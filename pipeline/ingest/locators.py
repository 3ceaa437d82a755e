"""What a curator typed, understood: a URL, a search, or a local path — or a clear refusal."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pipeline.ingest.url_safety import UnsafeURL, check_url

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"})
_SEARCH = re.compile(r"^(?P<key>[a-z]+search(?:date)?)(?P<count>[1-9][0-9]*|all)?:(?P<query>.+)$", re.S)
_SCHEME = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*):")
_BARE_HOST = re.compile(r"^(www\.)?[\w-]+(\.[\w-]+)+(/\S*)?$")
_MAX_LOCATOR_LENGTH = 4096
_CONTROL = re.compile("[\x01-\x1f\x7f-\x9f]")
# Lone surrogates: how Python holds the bytes of a file name that are not UTF-8.
_UNDECODABLE = re.compile("[\ud800-\udfff]")


class LocatorKind(StrEnum):
    URL = "url"
    SEARCH = "search"
    LOCAL = "local"


class LocatorRefused(ValueError):
    """This source cannot be ingested; the message says why, for the curator."""


@dataclass(frozen=True)
class Locator:
    kind: LocatorKind
    value: str
    limit: int


def parse_locator(
    text: str,
    *,
    from_web: bool,
    search_count: int,
    max_items: int,
    allow_loopback: bool,
    is_search: Callable[[str], bool],
) -> Locator:
    """Classify and check one source.

    search_count: how many results a search without a count takes ("ytsearch:clocks");
    plain words with no scheme become a YouTube search of that many results.
    max_items: the most videos any one source may yield.
    is_search: tells whether yt-dlp reads a prefixed string as a search."""
    text = text.strip()
    if not text:
        raise LocatorRefused("empty source")
    if len(text) > _MAX_LOCATOR_LENGTH:
        raise LocatorRefused(f"source is longer than {_MAX_LOCATOR_LENGTH} characters")
    if "\x00" in text:
        raise LocatorRefused("source contains a NUL character")
    if control := _CONTROL.search(text):
        # Python's URL parser drops tabs and line breaks: the URL checked would not be the URL fetched.
        raise LocatorRefused(f"source contains a control character ({control[0]!r}); give one source per line")
    if _UNDECODABLE.search(text):
        raise LocatorRefused("source contains bytes that are not UTF-8 text (a file name in another encoding?)")

    scheme = _SCHEME.match(text)
    if scheme and scheme["scheme"].lower() in {"http", "https"}:
        try:
            check_url(text, allow_loopback=allow_loopback)
        except UnsafeURL as unsafe:
            raise LocatorRefused(str(unsafe)) from None
        return Locator(LocatorKind.URL, text, max_items)

    if from_web and scheme and scheme["scheme"].lower() not in {"http", "https"} and not _SEARCH.match(text):
        raise LocatorRefused(f"only http and https URLs can be fetched, not {scheme['scheme'].lower()}:")

    search = _SEARCH.match(text)
    if search and is_search(f"{search['key']}:{search['query']}"):
        wanted = search["count"]
        count = max_items if wanted == "all" else int(wanted) if wanted else search_count
        count = min(count, max_items)
        return Locator(LocatorKind.SEARCH, f"{search['key']}{count}:{search['query'].strip()}", count)

    local = _local_path(text)
    if local is not None:
        if from_web:
            raise LocatorRefused("local files and folders can only be ingested from the command line")
        if not local.exists():
            raise LocatorRefused(f"no such file or folder: {local}")
        return Locator(LocatorKind.LOCAL, str(local.resolve()), max_items)

    if scheme and not (len(scheme["scheme"]) == 1 and text[1:3] in {":\\", ":/"}):
        raise LocatorRefused(f"only http and https URLs can be fetched, not {scheme['scheme'].lower()}:")
    if _BARE_HOST.match(text):
        raise LocatorRefused(f"{text!r} looks like a web address without its scheme; add https://")
    count = min(search_count, max_items)
    return Locator(LocatorKind.SEARCH, f"ytsearch{count}:{text}", count)


def _local_path(text: str) -> Path | None:
    if text.lower().startswith("file:"):
        parts = urlsplit(text)
        if parts.netloc not in {"", "localhost"}:
            return None
        return Path(unquote(parts.path))
    if text.startswith(("/", "./", "../", "~")) or _exists(text):
        return Path(text).expanduser()
    return None


def _exists(text: str) -> bool:
    try:
        return Path(text).exists()
    except OSError:  # a name no file can have (too long, say) names no file
        return False


def local_video_files(path: Path) -> list[Path]:
    """The video files at a path: the file itself, or every video file under a folder, in name order."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
