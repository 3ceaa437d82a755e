"""Serving uploaded and generated media (videos, snippets, thumbnails) from the app itself."""

from __future__ import annotations

from pathlib import Path

from whitenoise import WhiteNoise


def with_media(application: object, media_root: Path, media_url: str) -> WhiteNoise:
    """Wrap a WSGI app so that it also serves `media_root` at `media_url`. Media files appear while
    the app runs (new snippets), so they are looked up per request. WhiteNoise answers Range
    requests, which video players need for seeking."""
    served = WhiteNoise(application, autorefresh=True)
    served.add_files(str(media_root), prefix=media_url)
    return served
