"""Task worker processes: each saves a heartbeat (with the task it is running) for /healthz,
and the same heartbeat thread hands the tasks of dead workers back to the queue, so that a crash
anywhere costs a retry and not a lost video. django-q2's signals connect these in catalog.apps."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ParamSpec, TypeVar

import psutil
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from django_q.tasks import async_task

from catalog import services, stages
from catalog.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


# This worker process, once django-q2 has spawned it: its queue, host, pid and start.
_worker: dict[str, object] = {}


def start_heartbeat(**kwargs: object) -> None:
    """Connected to django-q2's post_spawn: each worker process reports itself alive every
    WORKER_HEARTBEAT_SECONDS from a daemon thread, for /healthz (also while a long task runs).
    The same thread recovers from crashes: see workers_recover and tasks_of_dead_clusters_release."""
    from django_q.conf import Conf

    if multiprocessing.parent_process() is None:
        return  # django-q2's sync mode runs the "worker" in the caller's process (tests): not a worker
    queue, host, pid, started_at = Conf.CLUSTER_NAME, socket.gethostname(), os.getpid(), timezone.now()
    created_since_boot = process_created_since_boot(pid)
    _worker.update(queue=queue, host=host, pid=pid, started_at=started_at, created_since_boot=created_since_boot)
    sentinel = psutil.Process(os.getppid())  # django-q2's sentinel: the parent of its cluster's processes

    def beat() -> None:
        just_started = True
        while True:
            try:
                # Before saving our own heartbeat: our pid may have been a dead worker's.
                workers_recover(queue=queue, host=host)
                services.worker_heartbeat(**_worker)
                if just_started:
                    services.worker_heartbeats_prune()
                    cluster = {sentinel.pid, *(child.pid for child in sentinel.children())}
                    cluster_started_at = process_started_at(sentinel)
                    tasks_of_dead_clusters_release(queue=queue, host=host, cluster=cluster,
                                                   cluster_started_at=cluster_started_at)  # fmt: skip
                    services.media_partials_remove(older_than_seconds=settings.Q_RETRY)
                    just_started = False
            except Exception as error:  # the database may be restarting: say so, and try again
                logger.warning("worker heartbeat not saved: %s", error)
                connection.close()
            time.sleep(settings.WORKER_HEARTBEAT_SECONDS)

    threading.Thread(target=beat, name="clockweb-heartbeat", daemon=True).start()


# -- recovery from crashes ------------------------------------------------------------------
#
# django-q2 hands a task out again only `Q_RETRY` seconds after it was taken, and only with the
# database broker: Redis has no acknowledgement, so a task whose worker was killed is gone. So
# each worker process notes in its heartbeat row the task it is running (pre_execute), and every
# worker checks, with each heartbeat, for processes of its queue that died: on this machine a
# process that no longer exists, elsewhere one not heard of for Q_RETRY seconds. Their task is
# handed out again at once (database broker: its row is unlocked; Redis: it is queued again).
# A task that has killed its worker Q_MAX_ATTEMPTS times is given up, and its video says why.
# Every stage is idempotent, so running a task again is safe.


def journal_task_start(sender: object, func: object, task: dict, **kwargs: object) -> None:
    """Connected to django-q2's pre_execute: note the task in this worker's heartbeat row."""
    if not _worker:  # a task run in the caller's process (sync), not by a worker
        return
    entry = {"id": task.get("id"), "name": task.get("name"), "func": _func_name(task.get("func")),
             "args": list(task.get("args") or ()), "kwargs": dict(task.get("kwargs") or {}),
             "ack_id": task.get("ack_id")}  # fmt: skip
    try:
        json.dumps(entry)
    except TypeError:  # arguments JSON cannot hold: the row can still be unlocked (database broker)
        entry.update(args=None, kwargs=None)
    try:
        services.worker_heartbeat(**_worker, task=entry)
    except Exception as error:  # never stop the task for this: it then falls back on Q_RETRY
        logger.warning("task %s not noted as running: %s", task.get("name"), error)
        connection.close()


def journal_task_end(sender: object, func: object, task: dict, **kwargs: object) -> None:
    """Connected to django-q2's post_execute_in_worker: the worker is idle again."""
    if not _worker:
        return
    try:
        services.worker_heartbeat(**_worker, task={})
        if task.get("success"):
            cache.delete(_crash_key(_func_name(task.get("func")), list(task.get("args") or ())))
    except Exception as error:
        logger.warning("task %s not noted as done: %s", task.get("name"), error)
        connection.close()


def _func_name(func: object) -> str:
    return func if isinstance(func, str) else f"{getattr(func, '__module__', '')}.{getattr(func, '__name__', func)}"


def _crash_key(func: str, args: object) -> str:
    return "clockweb:crashes:" + func + ":" + json.dumps(args, default=str)


# Creation times since boot are counted in clock ticks (100 a second): the same process reads
# the same value; another process on the pid, a different one.
_SAME_PROCESS_SECONDS = 0.015


def process_created_since_boot(pid: int) -> float | None:
    """When process `pid` was created, in seconds since boot: Linux's /proc/PID/stat start time,
    which no clock change moves (psutil only gives it added to the wall clock's boot time). None
    where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat; fields[0] is field 3


def process_started_at(process: psutil.Process) -> datetime:
    """When `process` started, by the wall clock now, to the clock tick: the time since it was
    created, counted on the boot clock, taken from now. psutil's create_time adds the boot time
    Linux gives in whole seconds, so it can be up to a second early: a task another cluster took
    in the second before this one started would look taken by this one, and wait for Q_RETRY."""
    created = process_created_since_boot(process.pid)
    if created is None:
        return datetime.fromtimestamp(process.create_time(), UTC)
    # Read both clocks together: the wall clock may have been stepped since the process started.
    age = time.clock_gettime(time.CLOCK_BOOTTIME) - created
    return datetime.fromtimestamp(time.time() - age, UTC)


def _process_gone(beat: WorkerHeartbeat) -> bool:
    """Whether the process of a heartbeat on this machine has died (its pid may be another's now)."""
    try:
        process = psutil.Process(beat.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        created = process_created_since_boot(beat.pid) if beat.created_since_boot is not None else None
        if created is not None:
            return abs(created - beat.created_since_boot) > _SAME_PROCESS_SECONDS
        # A heartbeat saved before creation times were kept: judged by the wall clock.
        return process.create_time() > beat.started_at.timestamp() + 0.5
    except psutil.NoSuchProcess:
        return True


def _is_dead(beat: WorkerHeartbeat, host: str, now: datetime) -> bool:
    if beat.host == host:
        return _process_gone(beat)
    return beat.seen_at < now - timedelta(seconds=settings.Q_RETRY)


def workers_recover(*, queue: str, host: str) -> int:
    """Hand out again the tasks that dead worker processes of `queue` were running; forget those
    processes. Safe to run anywhere, any time, by several workers at once. Returns how many tasks."""
    now = timezone.now()
    handed = 0
    for beat in WorkerHeartbeat.objects.filter(queue=queue):
        if not _is_dead(beat, host, now):
            continue
        with transaction.atomic():
            task = services.worker_forget(heartbeat=beat)
            if task:
                handed += _hand_back(task, queue)
    return handed


def _hand_back(task: dict, queue: str) -> int:
    from django_q.conf import Conf
    from django_q.models import OrmQ

    func, args, kwargs = task.get("func") or "", task.get("args"), task.get("kwargs") or {}
    key = _crash_key(func, args)
    cache.add(key, 0, timeout=86400)
    crashes = cache.incr(key)
    now = timezone.now()
    if Conf.MAX_ATTEMPTS > 0 and crashes >= Conf.MAX_ATTEMPTS:
        logger.error("task %s killed its worker %s times: given up", task.get("name"), crashes)
        if Conf.ORM and task.get("ack_id"):
            OrmQ.objects.using(Conf.ORM).filter(pk=task["ack_id"]).delete()
        if func in stages.BY_TASK_PATH and args:
            services.video_give_up_after_crashes(video_id=args[0], stage=stages.BY_TASK_PATH[func], crashes=crashes)
        return 0
    logger.warning("worker died while running task %s: handing it out again", task.get("name"))
    if Conf.ORM:
        # Its row is still there, locked until Q_RETRY runs out, unless the task had finished.
        return OrmQ.objects.using(Conf.ORM).filter(pk=task.get("ack_id"), lock__gt=now).update(lock=now)
    if args is None:
        return 0
    async_task(func, *args, task_name=task.get("name"), cluster=queue, **kwargs)
    return 1


def tasks_of_dead_clusters_release(*, queue: str, host: str, cluster: set[int], cluster_started_at: datetime) -> int:
    """Database broker: unlock the tasks of `queue` taken before this cluster started, when no
    other live worker serves `queue`: a cluster that died had taken them (a running task, or one
    its pusher took ahead), and django-q2 would hand them out only after Q_RETRY seconds. With
    another live cluster of the queue anywhere, they may be its own: they are left to Q_RETRY."""
    from django_q.conf import Conf
    from django_q.models import OrmQ

    if not Conf.ORM:
        return 0
    now = timezone.now()
    running: set[int] = set()
    for beat in WorkerHeartbeat.objects.filter(queue=queue):
        if beat.host == host and beat.pid in cluster:
            running.add((beat.task or {}).get("ack_id"))
            continue
        alive = not _process_gone(beat) if beat.host == host else (
            beat.seen_at >= now - timedelta(seconds=3 * settings.WORKER_HEARTBEAT_SECONDS))  # fmt: skip
        if alive:
            return 0
    taken_before_start = cluster_started_at + timedelta(seconds=Conf.RETRY)
    released = (
        OrmQ.objects.using(Conf.ORM)
        .filter(key=queue, lock__gt=now, lock__lt=taken_before_start)
        .exclude(pk__in=running - {None})
        .update(lock=now)
    )
    if released:
        logger.warning("%s task(s) of %s taken by a cluster that died handed out again", released, queue)
    return released


# -- a database that restarts ---------------------------------------------------------------

_P = ParamSpec("_P")
_T = TypeVar("_T")


def survives_database_restart(task: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run the task again when the database went away under it (a restart, a failover): wait up to
    TASK_DATABASE_WAIT_SECONDS for it to come back, with a fresh connection. Stages are idempotent;
    without this, django-q2 would record the task as failed and never run it again."""

    @functools.wraps(task)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        deadline = time.monotonic() + settings.TASK_DATABASE_WAIT_SECONDS
        for attempt in range(1, 6):
            try:
                return task(*args, **kwargs)
            except (OperationalError, InterfaceError) as error:
                if attempt == 5 or not _database_back(deadline):
                    raise
                said = (str(error).strip().splitlines() or [type(error).__name__])[0]
                logger.warning("%s%s lost the database (%s); running it again", task.__name__, args, said)
        raise AssertionError("unreachable")

    return run


def _database_back(deadline: float) -> bool:
    while True:
        with contextlib.suppress(Exception):
            connection.close()
        try:
            connection.ensure_connection()
            return True
        except (OperationalError, InterfaceError):
            if time.monotonic() >= deadline:
                return False
            time.sleep(1.0)
