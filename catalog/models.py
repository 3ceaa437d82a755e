"""The catalog: what was ingested, where clocks were seen, what they read, and the clips cut from them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from pgvector.django import HalfVectorField, HnswIndex

from pipeline.clock_time import ClockTime, Meridiem, format_minute_of_day

EMBEDDING_DIMENSIONS = 512  # CLIP ViT-B-32's vectors
IMAGENET_EMBEDDING_DIMENSIONS = 1280  # the offline embedder's (pipeline.search.imagenet)


class Source(models.Model):
    """Something a curator asked to ingest: a URL, a search query, a playlist or a local path."""

    class Kind(models.TextChoices):
        URL = "url", "URL"
        SEARCH = "search", "Search query"
        PLAYLIST = "playlist", "Playlist or channel"
        LOCAL = "local", "Local file or folder"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    locator = models.TextField(help_text="The URL, the search query, or the local path.")
    max_items = models.PositiveIntegerField(
        null=True, blank=True, help_text="For searches and playlists: how many videos to take at most."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    last_ingested_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(locator=""), name="source_locator_not_empty"),
            models.CheckConstraint(
                condition=Q(max_items__isnull=True) | Q(max_items__gte=1), name="source_max_items_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.locator[:80]}"


class Video(models.Model):
    """One downloaded (or downloading) video, identified by its extractor and the extractor's id."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DOWNLOADING = "downloading"
        DOWNLOADED = "downloaded"
        # The stored values, their labels and the API's JSON keep their first names, "processing"
        # and "processed" (clients rely on them); they mean that the video is being scanned for
        # clocks, and has been.
        SCANNING = "processing", "Processing"
        SCANNED = "processed", "Processed"
        FAILED = "failed"
        DUPLICATE = "duplicate"

    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="videos")
    extractor = models.CharField(max_length=64, help_text="yt-dlp extractor key, or 'local' for files.")
    external_id = models.CharField(max_length=255, help_text="The extractor's id, or the sha256 of a local file.")
    url = models.URLField(max_length=2000, blank=True)
    title = models.CharField(max_length=500, blank=True)
    uploader = models.CharField(max_length=255, blank=True)
    channel = models.CharField(max_length=255, blank=True)
    thumbnail_url = models.URLField(max_length=2000, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    upload_date = models.DateField(null=True, blank=True)
    licence = models.CharField(max_length=255, blank=True)
    file = models.FileField(upload_to="videos/", max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.TextField(blank=True)
    progress = models.JSONField(
        default=dict,
        blank=True,
        help_text="Download progress: status, percent, downloaded_bytes, total_bytes, speed, eta.",
    )
    info = models.JSONField(default=dict, blank=True, help_text="yt-dlp's sanitized info JSON, without format lists.")
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    downloaded_at = models.DateTimeField(null=True, blank=True)
    shot_boundaries = models.JSONField(default=list, blank=True, help_text="Seconds at which new shots start.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["extractor", "external_id"], name="video_unique_extractor_id"),
            models.UniqueConstraint(fields=["sha256"], condition=~Q(sha256=""), name="video_unique_sha256"),
            models.CheckConstraint(
                condition=Q(duration_seconds__isnull=True) | Q(duration_seconds__gte=0),
                name="video_duration_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.extractor}:{self.external_id}"


class ClockSighting(models.Model):
    """A stretch of one shot in which the detector tracked one clock."""

    class Kind(models.TextChoices):
        ANALOG = "analog"
        DIGITAL = "digital"
        UNKNOWN = "unknown"

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="sightings")
    start_seconds = models.FloatField()
    end_seconds = models.FloatField()
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.UNKNOWN)
    boxes = models.JSONField(
        default=list, blank=True, help_text="The box track: [[second, x, y, width, height, confidence], ...] in pixels."
    )
    confidence = models.FloatField(help_text="The detector's confidence over the track, 0-1.")
    rejection = models.TextField(blank=True, help_text="Why no time was read, when none was: e.g. frames disagree.")
    # Set when a curator has dealt with it on the review page (read its time, or said it is no clock).
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["video", "start_seconds"]
        constraints = [
            models.CheckConstraint(condition=Q(start_seconds__gte=0), name="sighting_start_not_negative"),
            models.CheckConstraint(
                condition=Q(end_seconds__gte=models.F("start_seconds")), name="sighting_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(confidence__gte=0, confidence__lte=1), name="sighting_confidence_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.video} {self.start_seconds:.1f}-{self.end_seconds:.1f}s"

    @property
    def duration_seconds(self) -> float:
        return self.end_seconds - self.start_seconds


class TimeReading(models.Model):
    """The one time read for a sighting, with how sure we are and when the clock shows HH:MM:00."""

    class Method(models.TextChoices):
        ANALOG_MODEL = "analog_model", "Analog reader model"
        ANALOG_GEOMETRY = "analog_geometry", "Analog hand geometry"
        DIGITAL = "digital", "Digital recognizer"
        MANUAL = "manual", "Entered by a curator"

    class Status(models.TextChoices):
        ACCEPTED = "accepted"
        UNCERTAIN = "uncertain"
        REJECTED = "rejected"

    sighting = models.ForeignKey(ClockSighting, on_delete=models.CASCADE, related_name="readings")
    hour = models.PositiveSmallIntegerField(help_text="1-12, as the clock face shows it.")
    minute = models.PositiveSmallIntegerField()
    meridiem = models.CharField(
        max_length=8, choices=[(m.value, m.value.upper()) for m in Meridiem], default=Meridiem.UNKNOWN.value
    )
    confidence = models.FloatField()
    method = models.CharField(max_length=16, choices=Method.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACCEPTED, db_index=True)
    shown_at_seconds = models.FloatField(help_text="The video second at which the clock shows HH:MM:00.")
    # What day or night in the scene suggests for a reading without AM/PM (see pipeline.search.tagging),
    # and how sure that is; stored for a threshold (or a curator) to decide on.
    meridiem_proposal = models.CharField(max_length=8, blank=True)
    meridiem_proposal_confidence = models.FloatField(null=True, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sighting", "-confidence"]
        constraints = [
            models.CheckConstraint(condition=Q(hour__gte=1, hour__lte=12), name="reading_hour_1_12"),
            models.CheckConstraint(condition=Q(minute__gte=0, minute__lte=59), name="reading_minute_0_59"),
            models.CheckConstraint(
                condition=Q(meridiem__in=[m.value for m in Meridiem]), name="reading_meridiem_valid"
            ),
            models.CheckConstraint(condition=Q(confidence__gte=0, confidence__lte=1), name="reading_confidence_0_1"),
            models.CheckConstraint(
                condition=Q(verified_by__isnull=True) | Q(verified_at__isnull=False),
                name="reading_verified_has_time",
            ),
        ]

    def __str__(self) -> str:
        return str(self.clock_time)

    @property
    def clock_time(self) -> ClockTime:
        return ClockTime(self.hour, self.minute, Meridiem(self.meridiem))

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class Snippet(models.Model):
    """A clip cut around a reading, placed at one minute of the day."""

    class Status(models.TextChoices):
        PENDING = "pending"
        READY = "ready"
        FAILED = "failed"
        HIDDEN = "hidden"

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="snippets")
    reading = models.ForeignKey(TimeReading, null=True, blank=True, on_delete=models.CASCADE, related_name="snippets")
    start_seconds = models.FloatField(help_text="Where the clip starts in the source video.")
    end_seconds = models.FloatField()
    file = models.FileField(upload_to="snippets/", max_length=500, blank=True)
    thumbnail = models.ImageField(upload_to="thumbnails/", max_length=500, blank=True)
    minute_of_day = models.PositiveSmallIntegerField(
        help_text="0-1439. With an unknown AM/PM reading this is the morning slot; the clip serves both."
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Bumped by every save, so that the schedule sees a corrected or hidden snippet.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["minute_of_day", "id"]
        indexes = [models.Index(fields=["status", "minute_of_day"], name="snippet_status_minute")]
        constraints = [
            models.CheckConstraint(
                condition=Q(minute_of_day__gte=0, minute_of_day__lte=1439), name="snippet_minute_of_day_0_1439"
            ),
            models.CheckConstraint(condition=Q(start_seconds__gte=0), name="snippet_start_not_negative"),
            models.CheckConstraint(
                condition=Q(end_seconds__gt=models.F("start_seconds")), name="snippet_ends_after_start"
            ),
            # Cutting is idempotent: one snippet per reading, however often it runs.
            models.UniqueConstraint(fields=["reading"], name="snippet_one_per_reading"),
        ]

    def __str__(self) -> str:
        return f"{self.minute_label} from {self.video}"

    @property
    def minute_label(self) -> str:
        return format_minute_of_day(self.minute_of_day)

    @property
    def duration_seconds(self) -> float:
        return self.end_seconds - self.start_seconds

    @property
    def shown_at_offset(self) -> float | None:
        """Seconds into the clip at which its clock shows HH:MM:00, or None without a reading."""
        if self.reading is None:
            return None
        return self.reading.shown_at_seconds - self.start_seconds


def _cosine_index(name: str, field: str) -> HnswIndex:
    """An HNSW index for cosine distance over a halfvec column (pgvector's defaults, m 16, ef 64)."""
    return HnswIndex(name=name, fields=[field], m=16, ef_construction=64, opclasses=["halfvec_cosine_ops"])


class SceneEmbedding(models.Model):
    """An image embedding of one frame, for search by meaning. Each embedder has its own column
    and HNSW index: CLIP's vectors in `embedding`, the offline ImageNet embedder's in
    `imagenet_embedding`; `model_name` says which made it, and vectors of different models are
    never compared."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="embeddings")
    second = models.FloatField()
    snippet = models.ForeignKey(Snippet, null=True, blank=True, on_delete=models.SET_NULL, related_name="embeddings")
    model_name = models.CharField(
        max_length=128, help_text="Which embedder made it; vectors of different models don't compare."
    )
    embedding = HalfVectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True, help_text="CLIP's vector.")
    imagenet_embedding = HalfVectorField(
        dimensions=IMAGENET_EMBEDDING_DIMENSIONS, null=True, blank=True,
        help_text="The offline embedder's vector (ImageNet EfficientNet-Lite0).",
    )  # fmt: skip
    thumbnail = models.CharField(max_length=500, blank=True, help_text="A small JPEG of the frame, under MEDIA_ROOT.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["video", "second"]
        indexes = [_cosine_index("embedding_hnsw_cosine", "embedding"),
                   _cosine_index("imagenet_embedding_hnsw_cosine", "imagenet_embedding")]  # fmt: skip
        constraints = [
            models.UniqueConstraint(fields=["video", "second", "model_name"], name="embedding_unique_frame_model"),
            models.CheckConstraint(condition=Q(second__gte=0), name="embedding_second_not_negative"),
            models.CheckConstraint(
                condition=Q(embedding__isnull=False, imagenet_embedding__isnull=True)
                | Q(embedding__isnull=True, imagenet_embedding__isnull=False),
                name="embedding_one_vector",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.video} @ {self.second:.1f}s"

    @staticmethod
    def vector_column(dimensions: int) -> str:
        """The column that holds vectors of this width."""
        columns = {EMBEDDING_DIMENSIONS: "embedding", IMAGENET_EMBEDDING_DIMENSIONS: "imagenet_embedding"}
        if dimensions not in columns:
            raise ValueError(f"no column holds {dimensions}-wide vectors (only {sorted(columns)})")
        return columns[dimensions]

    @property
    def vector(self) -> list[float]:
        """The embedding as floats, whether just assigned (a list) or read back (a HalfVector)."""
        value = self.embedding if self.embedding is not None else self.imagenet_embedding
        return value.to_list() if hasattr(value, "to_list") else list(value)


class Concept(models.Model):
    """A word of the tag vocabulary. The curated vocabulary is what CLIP scores frames against;
    curators edit it in the admin. Without CLIP, frames are tagged with the offline models' own
    concepts (ImageNet's classes, COCO's objects), added here as they are first seen; curators
    can switch any of them off."""

    class Source(models.TextChoices):
        VOCABULARY = "vocabulary", "curated vocabulary (CLIP)"
        IMAGENET = "imagenet", "ImageNet class (offline)"
        COCO = "coco", "COCO object (offline)"

    name = models.CharField(max_length=100, unique=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.VOCABULARY)
    prompt = models.CharField(
        max_length=200, blank=True, help_text="What CLIP compares frames with; default 'a photo of NAME'."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def text(self) -> str:
        return self.prompt or f"a photo of {self.name}"


class FrameTag(models.Model):
    """How much one embedded frame looks like one concept (kept above the tag threshold)."""

    scene = models.ForeignKey(SceneEmbedding, on_delete=models.CASCADE, related_name="tags")
    concept = models.ForeignKey(Concept, on_delete=models.CASCADE, related_name="frame_tags")
    score = models.FloatField()

    class Meta:
        ordering = ["scene", "-score"]
        constraints = [
            models.UniqueConstraint(fields=["scene", "concept"], name="frame_tag_unique"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=1), name="frame_tag_score_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.concept} {self.score:.2f} @ {self.scene}"


class WorkerHeartbeat(models.Model):
    """A task worker process saying it is alive (every WORKER_HEARTBEAT_SECONDS): /healthz counts
    the live workers of each queue from these, on whichever machine they run."""

    queue = models.CharField(max_length=100)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    # When the process was created, in seconds since the machine booted: which process a pid
    # belongs to is told by this, not by `started_at`, since a wall clock can be stepped
    # (NTP, a resumed VM) and would make a live worker look like a newer process's pid.
    created_since_boot = models.FloatField(null=True, blank=True)
    seen_at = models.DateTimeField(db_index=True)
    # The task it runs now ({} when idle): func, args, name, django-q2's task id and broker ack id.
    # If the process dies, another worker hands the task out again at once (catalog.tasks).
    task = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "pid"], name="heartbeat_one_per_process")]

    def __str__(self) -> str:
        return f"{self.queue} worker {self.host}:{self.pid}"
