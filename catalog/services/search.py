"""Search: scene embeddings and tags of each video's keyframes, by the embedder that serves (CLIP,
or offline the ImageNet embedder with COCO objects: catalog.ml.scene_embedder)."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog import ml, stages
from catalog.models import Concept, FrameTag, SceneEmbedding, Snippet, TimeReading, Video
from catalog.services.work import _frame_leftovers_remove, _stage_errors, _video_work, jpeg_write
from pipeline.clock_time import ClockTime, Meridiem
from pipeline.ingest.probe import probe_video

if TYPE_CHECKING:  # the embedders import torch: loaded by the workers that embed, never at import
    from pipeline.search.embedder import ClipEmbedder
    from pipeline.search.imagenet import ImageNetEmbedder

logger = logging.getLogger(__name__)


def video_embed(*, video: Video) -> int:
    """Embed keyframes across the whole video (per shot, from the scan's shot boundaries) and a
    representative frame of each of its snippets; replace the video's earlier vectors of this
    model in one transaction. The offline embedder tags the frames in the same pass (ImageNet
    classes and COCO objects, in the same transaction). Returns how many vectors were stored.
    Frame thumbnails no row names (left by a run that was killed or failed, or replaced now) are
    deleted; a full disk raises DiskFull."""
    video.refresh_from_db(fields=["file"])
    if not video.file:
        raise ValueError(f"video #{video.pk} has no file to embed (status {video.status})")
    embedder = ml.scene_embedder()
    folder = Path(settings.MEDIA_ROOT) / "frames" / str(video.pk)
    with _video_work(video):
        _frame_leftovers_remove(video)
        try:
            with _stage_errors(video, stages.EMBED, folder):
                stored = _video_embed(video, embedder, folder)
        finally:
            _frame_leftovers_remove(video)
    return stored


def _video_embed(video: Video, embedder: ClipEmbedder | ImageNetEmbedder, folder: Path) -> int:
    import cv2

    from pipeline.search.keyframes import frames_near, keyframe_times

    video.refresh_from_db(fields=["file", "shot_boundaries"])  # the scan may have run since it was loaded
    source = Path(settings.MEDIA_ROOT) / video.file.name
    duration = probe_video(source).duration_seconds or 0.0
    snippet_at: dict[float, Snippet] = {}
    for snippet in Snippet.objects.filter(video=video, status=Snippet.Status.READY).select_related("reading__sighting"):
        sighting = snippet.reading.sighting if snippet.reading else None
        middle = (sighting.start_seconds + sighting.end_seconds) / 2 if sighting else snippet.start_seconds
        snippet_at[round(middle, 3)] = snippet
    times = sorted(
        set(keyframe_times(duration, video.shot_boundaries or (), settings.EMBED_EVERY_SECONDS)) | set(snippet_at)
    )
    frames = list(frames_near(source, times))
    images = [image for _, image in frames]
    frame_tags: list[dict[str, float]] = []
    if embedder.kind == "imagenet":
        analysis = embedder.analyse(images)
        vectors = analysis.vectors
        frame_tags = _offline_tags(images, analysis.probabilities)
    else:
        vectors = embedder.embed_images(images)
    column = SceneEmbedding.vector_column(embedder.dimensions)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for (second, image), vector in zip(frames, vectors, strict=True):
        name = f"frames/{video.pk}/{round(second * 1000)}.jpg"
        small = cv2.resize(
            image, (round(image.shape[1] * 180 / image.shape[0]) // 2 * 2, 180), interpolation=cv2.INTER_AREA
        )
        jpeg_write(Path(settings.MEDIA_ROOT) / name, small, 80)
        rows.append(SceneEmbedding(video=video, second=second, snippet=snippet_at.get(second), model_name=embedder.name,
                                   thumbnail=name, **{column: vector.tolist()}))  # fmt: skip
    with transaction.atomic():
        SceneEmbedding.objects.filter(video=video, model_name=embedder.name).delete()  # their tags go with them
        SceneEmbedding.objects.bulk_create(rows)
        if frame_tags:
            _offline_tags_store(rows, frame_tags)
    return len(rows)


def _offline_tags(images: list, probabilities: np.ndarray) -> list[dict[str, float]]:
    """Each frame's offline tags: its ImageNet classes and the COCO objects NanoDet-m finds."""
    from pipeline.coco import COCO_NAMES
    from pipeline.search.concepts import IMAGENET
    from pipeline.search.tagging import offline_tags

    imagenet_names = [concept.name for concept in ml.concept_vocabulary().concepts if concept.source == IMAGENET]
    return offline_tags(images, probabilities, ml.coco_detector(), imagenet_names=imagenet_names,
                        coco_names=list(COCO_NAMES), imagenet_threshold=settings.IMAGENET_TAG_THRESHOLD,
                        coco_threshold=settings.COCO_TAG_THRESHOLD)  # fmt: skip


def _offline_tags_store(scenes: list[SceneEmbedding], frame_tags: list[dict[str, float]]) -> None:
    """Store the frames' offline tags, adding the concepts seen for the first time (a name both
    ImageNet and COCO use, such as umbrella, is one concept, filed under COCO); a concept a
    curator switched off is not tagged."""
    from pipeline.coco import COCO_NAMES

    names = {name for tags in frame_tags for name in tags}
    coco = set(COCO_NAMES)
    Concept.objects.bulk_create(
        [Concept(name=name, source=Concept.Source.COCO if name in coco else Concept.Source.IMAGENET) for name in names],
        ignore_conflicts=True,
    )
    concepts = {concept.name: concept for concept in Concept.objects.filter(name__in=names, active=True)}
    FrameTag.objects.bulk_create([
        FrameTag(scene=scene, concept=concepts[name], score=score)
        for scene, tags in zip(scenes, frame_tags, strict=True)
        for name, score in tags.items()
        if name in concepts
    ])  # fmt: skip


_DAY_NIGHT = ("a photo taken in daytime", "a photo taken at night")


@lru_cache(maxsize=4)
def _text_vectors(embedder: ClipEmbedder, texts: tuple[str, ...]) -> np.ndarray:
    """The vocabulary's text vectors, embedded once per process and vocabulary, not once per video."""
    return embedder.embed_texts(list(texts))


def video_tag(*, video: Video) -> int:
    """With CLIP: score the video's embedded frames against the active concepts of the curated
    vocabulary; keep the tags above TAG_THRESHOLD (replacing earlier CLIP tags, in one
    transaction), and propose AM/PM from daytime against night for its readings that don't know
    it. Offline, the embedding pass has tagged the frames already (and there is no day or night
    concept to propose AM/PM from). Returns how many frame tags the video's frames of the serving
    embedder have."""
    from pipeline.search.tagging import concept_probabilities, pair_probability, propose_meridiem

    embedder = ml.scene_embedder()
    if embedder.kind != "clip":
        return FrameTag.objects.filter(scene__video=video, scene__model_name=embedder.name).count()
    scenes = list(SceneEmbedding.objects.filter(video=video, model_name=embedder.name).order_by("second"))
    concepts = list(Concept.objects.filter(active=True, source=Concept.Source.VOCABULARY))
    if not scenes or not concepts:
        return 0
    frames = np.array([scene.vector for scene in scenes], np.float32)
    *texts, day, night = _text_vectors(embedder, (*[concept.text for concept in concepts], *_DAY_NIGHT))
    probabilities = concept_probabilities(frames, np.array(texts))
    rows = [
        FrameTag(scene=scene, concept=concept, score=float(probability))
        for scene, row in zip(scenes, probabilities, strict=True)
        for concept, probability in zip(concepts, row, strict=True)
        if probability >= settings.TAG_THRESHOLD
    ]
    daylight = dict(zip([scene.pk for scene in scenes], pair_probability(frames, day, night), strict=True))
    with transaction.atomic():
        FrameTag.objects.filter(scene__video=video, scene__model_name=embedder.name).delete()
        FrameTag.objects.bulk_create(rows)
        unknown = TimeReading.objects.filter(sighting__video=video, meridiem=Meridiem.UNKNOWN.value)
        for reading in unknown.select_related("sighting"):
            start, end = reading.sighting.start_seconds - 1, reading.sighting.end_seconds + 1
            near = [daylight[scene.pk] for scene in scenes if start <= scene.second <= end]
            if not near:
                continue
            proposal, confidence = propose_meridiem(reading.hour, float(np.mean(near)))
            TimeReading.objects.filter(pk=reading.pk).update(meridiem_proposal=proposal,
                                                             meridiem_proposal_confidence=confidence)  # fmt: skip
            if proposal != Meridiem.UNKNOWN.value and confidence >= settings.MERIDIEM_ACCEPT_CONFIDENCE:
                _meridiem_accept(reading, Meridiem(proposal))
    return len(rows)


def _meridiem_accept(reading: TimeReading, meridiem: Meridiem) -> None:
    """A sure enough day/night proposal decides the AM/PM a dial can't show: the reading takes it
    (the proposal stays on record) and its clip moves to that half of the day only. A curator's
    word is never overridden: verified readings keep theirs."""
    if reading.is_verified:
        return
    TimeReading.objects.filter(pk=reading.pk).update(meridiem=meridiem.value)
    time = ClockTime(reading.hour, reading.minute, meridiem)
    Snippet.objects.filter(reading=reading).update(minute_of_day=time.minutes_of_day[0], updated_at=timezone.now())


def video_index(*, video: Video) -> tuple[int, int]:
    """The search stage, as workers and `manage.py process` both run it: embed the keyframes,
    then tag them (and propose AM/PM). Returns (embeddings stored, frame tags stored)."""
    return video_embed(video=video), video_tag(video=video)
