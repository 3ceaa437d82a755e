"""Fonts found on this machine: the numerals of rendered clocks, and the time cards of the live page."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def font_paths() -> tuple[str, ...]:
    """TrueType fonts on this machine (DejaVu ships with matplotlib), for numerals."""
    import matplotlib

    root = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return tuple(str(p) for p in sorted(root.glob("DejaVu*.ttf")))


def card_font() -> str | None:
    """A bold sans font for cards that show the time, or None when none is installed."""
    paths = font_paths()
    bold = [path for path in paths if path.endswith("DejaVuSans-Bold.ttf")]
    return (bold or list(paths) or [None])[0]
