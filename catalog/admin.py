from django.contrib import admin
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from catalog import services, tasks
from catalog.models import (
    ClockSighting,
    Concept,
    FrameTag,
    SceneEmbedding,
    Snippet,
    Source,
    TimeReading,
    Video,
    WorkerHeartbeat,
)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "locator", "max_items", "video_count", "created_by", "created_at", "last_ingested_at"]
    list_filter = ["kind", "created_at"]
    search_fields = ["locator"]
    readonly_fields = ["kind", "locator", "created_by", "created_at", "last_ingested_at", "error"]
    actions = ["fetch_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Sources are checked (URL safety, limits) by services.sources_create: add them with
        # `manage.py ingest` or POST /api/ingest/, not with a bare form.
        return False

    @admin.action(description="Fetch the selected sources now (find and download new videos)")
    def fetch_now(self, request: HttpRequest, sources: QuerySet[Source]) -> None:
        queued = [tasks.queue_discovery(source) for source in sources.exclude(kind=Source.Kind.LOCAL)]
        skipped = sources.filter(kind=Source.Kind.LOCAL).count()
        message = f"{len(queued)} source(s) queued for the workers."
        if skipped:
            message += f" {skipped} local source(s) skipped: import those with `manage.py ingest`."
        self.message_user(request, message)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Source]:
        return super().get_queryset(request).annotate(video_total=Count("videos"))

    @admin.display(ordering="video_total", description="videos")
    def video_count(self, source: Source) -> int:
        return source.video_total


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "title",
        "extractor",
        "uploader",
        "duration_seconds",
        "status",
        "progress_percent",
        "error_short",
        "created_at",
    ]
    list_filter = ["status", "extractor", "licence", "created_at"]
    search_fields = ["title", "uploader", "external_id", "url", "sha256"]
    # The file is only ever written by ingest, after it was checked to be a video.
    readonly_fields = [
        "file",
        "sha256",
        "progress",
        "info",
        "duplicate_of",
        "downloaded_at",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["source"]
    date_hierarchy = "created_at"
    actions = ["retry_download"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.action(description="Retry the selected failed downloads")
    def retry_download(self, request: HttpRequest, videos: QuerySet[Video]) -> None:
        failed = [video for video in videos if services.video_can_retry(video)]
        for video in failed:
            tasks.queue_download(services.video_retry(video=video))
        self.message_user(request, f"{len(failed)} download(s) queued again.")

    @admin.display(description="error")
    def error_short(self, video: Video) -> str:
        return video.error[:80]

    @admin.display(description="progress")
    def progress_percent(self, video: Video) -> str:
        percent = (video.progress or {}).get("percent")
        return "" if percent is None else f"{percent:.0f}%"


class TimeReadingInline(admin.TabularInline):
    model = TimeReading
    extra = 0
    fields = ["hour", "minute", "meridiem", "confidence", "method", "status", "shown_at_seconds", "verified_by"]
    raw_id_fields = ["verified_by"]


@admin.register(ClockSighting)
class ClockSightingAdmin(admin.ModelAdmin):
    list_display = ["id", "video", "start_seconds", "end_seconds", "kind", "confidence"]
    list_filter = ["kind"]
    search_fields = ["video__title"]
    raw_id_fields = ["video"]
    inlines = [TimeReadingInline]


@admin.register(TimeReading)
class TimeReadingAdmin(admin.ModelAdmin):
    list_display = ["id", "__str__", "sighting", "confidence", "method", "status", "is_verified", "verified_by"]
    list_filter = ["status", "method", "meridiem", ("verified_at", admin.EmptyFieldListFilter)]
    search_fields = ["sighting__video__title"]
    raw_id_fields = ["sighting", "verified_by"]
    readonly_fields = ["verified_at", "created_at"]
    actions = ["mark_verified"]

    @admin.display(boolean=True, description="verified")
    def is_verified(self, reading: TimeReading) -> bool:
        return reading.is_verified

    @admin.action(description="Mark the selected readings as verified by me")
    def mark_verified(self, request: HttpRequest, readings: QuerySet[TimeReading]) -> None:
        count = services.readings_verify(readings=readings, user=request.user)
        self.message_user(request, f"{count} reading(s) verified.")


@admin.register(Snippet)
class SnippetAdmin(admin.ModelAdmin):
    list_display = ["id", "minute_label", "video", "start_seconds", "end_seconds", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["video__title"]
    raw_id_fields = ["video", "reading"]
    ordering = ["minute_of_day"]

    @admin.display(ordering="minute_of_day", description="minute")
    def minute_label(self, snippet: Snippet) -> str:
        return snippet.minute_label


@admin.register(SceneEmbedding)
class SceneEmbeddingAdmin(admin.ModelAdmin):
    list_display = ["id", "video", "second", "snippet", "model_name", "created_at"]
    list_filter = ["model_name"]
    search_fields = ["video__title"]
    raw_id_fields = ["video", "snippet"]
    exclude = ["embedding"]


@admin.register(Concept)
class ConceptAdmin(admin.ModelAdmin):
    """The tag vocabulary: curators add, reword (prompt) or switch off concepts. The curated
    vocabulary is what CLIP scores; the offline models' concepts (ImageNet, COCO) arrive as they
    are first seen, and can be switched off too."""

    list_display = ["name", "source", "prompt", "active"]
    list_editable = ["active"]
    list_filter = ["active", "source"]
    search_fields = ["name", "prompt"]


@admin.register(FrameTag)
class FrameTagAdmin(admin.ModelAdmin):
    list_display = ["concept", "scene", "score"]
    list_filter = ["concept"]
    list_select_related = ["concept", "scene__video"]
    raw_id_fields = ["scene"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["queue", "host", "pid", "started_at", "seen_at"]
    list_filter = ["queue", "host"]
    readonly_fields = ["queue", "host", "pid", "started_at", "seen_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
