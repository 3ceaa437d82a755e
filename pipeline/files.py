"""Files that are whole or absent: written under a partial name, renamed over the target at the end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def written_whole(target: Path, partial: Path) -> Iterator[Path]:
    """Yields `partial` to be written; when the block ends without an error it is renamed over
    `target` (atomic on one file system), otherwise it is removed. A reader of `target` never
    sees half a file; a killed process leaves only `partial`, for a sweeper to remove."""
    try:
        yield partial
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
