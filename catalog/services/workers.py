"""Worker bookkeeping: heartbeats, the task each worker runs, and videos whose work keeps crashing."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from catalog.models import Video, WorkerHeartbeat
from catalog.stages import Stage

logger = logging.getLogger(__name__)


def worker_heartbeat(*, queue: str, host: str, pid: int, started_at: datetime, created_since_boot: float | None = None,
                     task: dict[str, object] | None = None) -> None:  # fmt: skip
    """Record that a task worker process is alive now, and, when `task` is given, the task it runs
    ({} once it is done, so that a task can be handed out again at once if the process dies in the
    middle of it); without it the task on record stays."""
    fields: dict[str, object] = {"queue": queue, "started_at": started_at, "seen_at": timezone.now(),
                                 "created_since_boot": created_since_boot}  # fmt: skip
    if task is not None:
        fields["task"] = task
    WorkerHeartbeat.objects.update_or_create(host=host, pid=pid, defaults=fields)


def worker_heartbeats_prune(*, older_than_seconds: float = 86400) -> int:
    """Forget workers not seen for a day (their processes are long gone)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return WorkerHeartbeat.objects.filter(seen_at__lt=cutoff).delete()[0]


def worker_forget(*, heartbeat: WorkerHeartbeat) -> dict[str, object] | None:
    """Remove the heartbeat of a worker process that has died, and return the task it was running
    ({} when none); None when another process is dealing with it (or did already)."""
    with transaction.atomic():
        row = (
            WorkerHeartbeat.objects.select_for_update(skip_locked=True)
            .filter(pk=heartbeat.pk, started_at=heartbeat.started_at)
            .first()
        )
        if row is None:
            return None
        row.delete()
    return row.task or {}


def video_give_up_after_crashes(*, video_id: int, stage: Stage, crashes: int) -> None:
    """A stage killed its worker again and again (out of memory, say): stop retrying, and say so.
    A download or scan leaves the video failed; a cut or embed leaves it scanned (status
    `processed`), with the error."""
    message = (
        f"{stage.label} stopped: the worker died {crashes} times while running it (killed, or out of memory); "
        "it is not retried again on its own"
    )
    fields: dict[str, object] = {"error": message}
    if stage.fails_video:
        fields["status"] = Video.Status.FAILED
    Video.objects.filter(pk=video_id).update(**fields)
