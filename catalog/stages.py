"""The stages a video goes through, in order: one table used by the tasks, the workers, the
services and `manage.py process`.

`label` is how a video's error names the stage ("cutting failed: ..."); `task` is the
django-q2 task (its dotted path is stored in queued rows, so it never changes); `gpu` says
whether it runs on the GPU queue, where the models are; `fails_video` whether a stage that
keeps crashing its worker leaves the video failed (a clip that can't be cut or embedded is
still on the clock).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Stage:
    name: str
    task: str
    label: str
    gpu: bool
    fails_video: bool

    @property
    def task_path(self) -> str:
        return f"catalog.tasks.{self.task}"

    @property
    def queue(self) -> str:
        return settings.Q_GPU_QUEUE if self.gpu else settings.Q_CPU_QUEUE


DOWNLOAD = Stage("download", "download_video", "download", gpu=False, fails_video=True)
SCAN = Stage("scan", "scan_video", "scan", gpu=True, fails_video=True)
CUT = Stage("cut", "cut_video", "cutting", gpu=False, fails_video=False)
# Embedding and tagging run in one pass over the keyframes.
EMBED = Stage("embed", "embed_video", "embedding", gpu=True, fails_video=False)

STAGES = (DOWNLOAD, SCAN, CUT, EMBED)
BY_TASK_PATH = {stage.task_path: stage for stage in STAGES}


def queue_of(task: str) -> str:
    """The queue a task (by its name in catalog.tasks) goes to; tasks that are not stages go to the CPU queue."""
    for stage in STAGES:
        if stage.task == task:
            return stage.queue
    return settings.Q_CPU_QUEUE
