"""django-q2 tasks: thin wrappers that load rows, call the pipeline and save through services."""

from __future__ import annotations

import os
import socket


def ping() -> dict[str, object]:
    """A no-op that proves a worker is alive and can reach the database through the broker."""
    return {"host": socket.gethostname(), "pid": os.getpid()}
