"""django-q2 tasks: thin wrappers that load rows, call services, and queue the next step."""

from __future__ import annotations

import logging
import os
import socket

from django_q.tasks import async_task

from catalog import ml, services, stages
from catalog.models import Source, Video
from catalog.workers import survives_database_restart
from pipeline.ffmpeg import FfmpegError
from pipeline.frames import FrameReadError
from pipeline.ingest import ytdlp
from pipeline.ingest.probe import NotAVideo
from pipeline.search.embedder import EmbedderUnavailable

logger = logging.getLogger(__name__)


def ping() -> dict[str, object]:
    """A no-op that proves a worker is alive and can reach the database through the broker; says
    which machine, process and queue answered."""
    from django_q.conf import Conf

    return {"host": socket.gethostname(), "pid": os.getpid(), "queue": Conf.CLUSTER_NAME}


def queue_name(task: str) -> str:
    """settings.Q_CPU_QUEUE or Q_GPU_QUEUE: the work that needs the models runs where the GPU is."""
    return stages.queue_of(task)


def _queue(task: str, key: int, what: str) -> str:
    # Always name the queue: left out, django-q2 would use the queue of the process that queues
    # (a GPU worker queueing a cut would keep it on the GPU queue).
    return async_task(f"catalog.tasks.{task}", key, task_name=f"{what} {key}", cluster=queue_name(task))


def queue_discovery(source: Source) -> str:
    return _queue("discover_source", source.pk, "discover source")


def queue_download(video: Video) -> str:
    return _queue("download_video", video.pk, "download video")


@survives_database_restart
def discover_source(source_id: int) -> dict[str, object]:
    source = Source.objects.get(pk=source_id)
    if source.kind == Source.Kind.LOCAL:
        return {"source": source_id, "error": "local sources are imported by `manage.py ingest`, not by workers"}
    try:
        report = services.source_discover(source=source)
    except ytdlp.IngestError as error:
        logger.warning("source %s: %s", source_id, error)
        return {"source": source_id, "error": str(error)}
    for video in report.to_download:
        queue_download(video)
    return {"source": source_id, "queued": len(report.to_download), "known": report.already_known}


def queue_scan(video: Video) -> str:
    return _queue("scan_video", video.pk, "scan video")


@survives_database_restart
def download_video(video_id: int) -> dict[str, object]:
    video = Video.objects.filter(pk=video_id).first()
    if video is None:
        return {"video": video_id, "status": "gone"}
    try:
        video = services.video_download(video=video)
    except ytdlp.IngestError as error:
        return {"video": video_id, "status": "busy", "error": str(error)}
    if video.status == Video.Status.DOWNLOADED:
        queue_scan(video)
    return {"video": video_id, "status": video.status, "error": video.error}


@survives_database_restart
def scan_video(video_id: int) -> dict[str, object]:
    video = Video.objects.filter(pk=video_id).first()
    if video is None or not video.file:
        return {"video": video_id, "status": "nothing to scan"}
    try:
        video = services.video_scan(video=video)
    except ml.ScanUnavailable as unavailable:
        logger.error("video %s not scanned: %s", video_id, unavailable)
        return {"video": video_id, "status": video.status, "error": str(unavailable)}
    if video.status == Video.Status.SCANNED:
        queue_cut(video)
    return {"video": video_id, "status": video.status, "error": video.error,
            "sightings": video.sightings.count()}  # fmt: skip


def queue_cut(video: Video) -> str:
    return _queue("cut_video", video.pk, "cut video")


@survives_database_restart
def cut_video(video_id: int) -> dict[str, object]:
    video = Video.objects.filter(pk=video_id).first()
    if video is None or not video.file:
        return {"video": video_id, "status": "nothing to cut"}
    try:
        made = services.video_cut(video=video)
    except (FfmpegError, NotAVideo, services.DiskFull) as error:
        logger.error("video %s not cut: %s", video_id, error)
        return {"video": video_id, "error": str(error)}
    queue_embed(video)
    return {"video": video_id, "snippets": len(made)}


def queue_embed(video: Video) -> str:
    return _queue("embed_video", video.pk, "embed video")


@survives_database_restart
def embed_video(video_id: int) -> dict[str, object]:
    video = Video.objects.filter(pk=video_id).first()
    if video is None or not video.file:
        return {"video": video_id, "status": "nothing to embed"}
    try:
        stored, tagged = services.video_index(video=video)
    except (EmbedderUnavailable, FrameReadError, NotAVideo, services.DiskFull) as error:
        # Search is optional: a video without vectors is still on the clock.
        logger.error("video %s not embedded: %s", video_id, error)
        return {"video": video_id, "error": str(error)}
    return {"video": video_id, "embeddings": stored, "frame_tags": tagged}
