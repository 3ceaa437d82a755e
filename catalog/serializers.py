"""DRF serializers: the API's output shapes, and validation of its query parameters."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from catalog.models import Snippet, Source, TimeReading, Video
from pipeline.clock_time import format_minute_of_day, known_time_zones, parse_clock_entry, parse_minute_of_day

# -- output --------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every error answer but a validation error (400)."""

    detail = serializers.CharField(help_text="What went wrong, in words.")


class VideoSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Video
        fields = ["id", "title", "url", "uploader", "licence"]


class VideoSerializer(serializers.ModelSerializer):
    snippet_count = serializers.IntegerField(read_only=True)
    source = serializers.SerializerMethodField()

    class Meta:
        model = Video
        fields = [
            "id", "source", "extractor", "external_id", "url", "title", "uploader", "channel", "duration_seconds",
            "upload_date", "licence", "thumbnail_url", "file", "sha256", "status", "error", "progress",
            "duplicate_of", "snippet_count", "downloaded_at", "created_at", "updated_at",
        ]  # fmt: skip

    def get_source(self, video: Video) -> str | None:
        return None if video.source is None else str(video.source)


class ReadingSerializer(serializers.ModelSerializer):
    time = serializers.CharField(source="clock_time.__str__", read_only=True)

    class Meta:
        model = TimeReading
        fields = [
            "id", "time", "hour", "minute", "meridiem", "confidence", "method", "status", "shown_at_seconds",
            "meridiem_proposal", "meridiem_proposal_confidence",
        ]  # fmt: skip


class SnippetSerializer(serializers.ModelSerializer):
    minute = serializers.CharField(source="minute_label", read_only=True)
    video = VideoSummarySerializer(read_only=True)
    reading = ReadingSerializer(read_only=True)
    shown_at_offset = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Snippet
        fields = [
            "id", "minute", "minute_of_day", "video", "reading", "start_seconds", "end_seconds",
            "shown_at_offset", "file", "thumbnail", "status",
        ]  # fmt: skip


class GapSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="HH:MM, the first minute without a clip.")
    minutes = serializers.IntegerField(help_text="How many minutes in a row (wrapping past midnight).")


class MinuteCountSerializer(serializers.Serializer):
    minute = serializers.CharField(help_text="HH:MM")
    count = serializers.IntegerField()


class MinutesSerializer(serializers.Serializer):
    counts = serializers.ListField(child=serializers.IntegerField(), help_text="1440 counts, index = minute of day.")
    covered_minutes = serializers.IntegerField()
    total_snippets = serializers.IntegerField()
    longest_gap = GapSerializer(allow_null=True, help_text="null when every minute has a clip.")
    most_served = MinuteCountSerializer(many=True)


class LocalDateTimeField(serializers.DateTimeField):
    """A datetime shown in its own time zone (the viewer's), not converted to the server's."""

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class PlannedPieceSerializer(serializers.Serializer):
    at = serializers.FloatField(help_text="Seconds into the minute at which this piece starts.")
    play_from = serializers.FloatField(help_text="Position in the snippet's file to play from.")
    length = serializers.FloatField(help_text="Seconds to play.")
    card = serializers.SerializerMethodField(help_text="True: no clip; show a card with the time.")
    snippet = SnippetSerializer(allow_null=True)

    def get_card(self, piece: object) -> bool:
        return piece.snippet is None


class ScheduledClipSerializer(serializers.Serializer):
    minute = serializers.SerializerMethodField()
    minute_of_day = serializers.IntegerField()
    starts_at = LocalDateTimeField(help_text="Wall-clock start of this minute, in the requested time zone.")
    offset_seconds = serializers.FloatField(help_text="The clip's position at starts_at.")
    fallback = serializers.BooleanField(help_text="True when this minute has no clip and borrows an earlier one.")
    fallback_from = serializers.SerializerMethodField()
    snippet = SnippetSerializer(allow_null=True, help_text="The lead clip, whose clock runs with the wall clock.")
    pieces = PlannedPieceSerializer(many=True, help_text="What plays during the minute, in order; they fill 60 s.")

    def get_minute(self, clip: object) -> str:
        return format_minute_of_day(clip.minute_of_day)

    def get_fallback_from(self, clip: object) -> str | None:
        return format_minute_of_day(clip.served_minute) if clip.fallback else None


class NowSerializer(serializers.Serializer):
    server_time = serializers.DateTimeField()
    time_zone = serializers.CharField()
    current = ScheduledClipSerializer()
    upcoming = ScheduledClipSerializer(many=True)


# -- query parameters ----------------------------------------------------------------------


class _ParsedCharField(serializers.CharField):
    """A text parameter parsed into another type. Length is checked before parsing, because
    CharField's max_length validator runs after to_internal_value, on the parsed value."""

    max_input_length = 64

    def to_internal_value(self, data: object) -> str:
        text = super().to_internal_value(data)
        if len(text) > self.max_input_length:
            raise serializers.ValidationError(f"too long: at most {self.max_input_length} characters")
        return text


class MinuteField(_ParsedCharField):
    """HH:MM on a 24-hour clock, validated to a minute of the day (0-1439)."""

    def to_internal_value(self, data: object) -> int:
        text = super().to_internal_value(data)
        try:
            return parse_minute_of_day(text)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None


class TimeZoneField(_ParsedCharField):
    def to_internal_value(self, data: object) -> ZoneInfo:
        name = super().to_internal_value(data)
        # Only names from the tz database: never let a parameter reach the file system.
        if name not in known_time_zones():
            raise serializers.ValidationError(f"unknown time zone {name[:64]!r}; use an IANA name like Europe/Paris")
        return ZoneInfo(name)


class SnippetQuerySerializer(serializers.Serializer):
    minute = MinuteField(required=False, help_text="HH:MM, 00:00-23:59.")
    video = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class VideoQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Video.Status.choices, required=False)
    source = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class _TextField(serializers.CharField):
    """Text only: DRF's CharField would take the number 42 as the text "42"."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class IngestRequestSerializer(serializers.Serializer):
    sources = serializers.ListField(
        child=_TextField(max_length=4096, trim_whitespace=True),
        min_length=1,
        max_length=100,
        help_text="URLs (any site yt-dlp supports), playlist or channel URLs, or searches such as "
        "'ytsearch5:station clock'.",
    )
    search = serializers.IntegerField(required=False, min_value=1, max_value=100, help_text="Results per search.")
    max_items = serializers.IntegerField(
        required=False, min_value=1, max_value=10_000, help_text="Most videos per playlist."
    )


class SourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["id", "kind", "locator", "max_items", "created_at", "last_ingested_at", "error"]


class IngestResponseSerializer(serializers.Serializer):
    sources = SourceSerializer(many=True)


class NowQuerySerializer(serializers.Serializer):
    tz = TimeZoneField(required=False, help_text="IANA time zone, e.g. Europe/Paris.")
    at = serializers.CharField(
        required=False,
        max_length=40,
        help_text="Preview another instant (ISO 8601); a time without offset is read in `tz`.",
    )
    upcoming = serializers.IntegerField(required=False, min_value=0, max_value=60)

    def validate(self, attrs: dict) -> dict:
        attrs.setdefault("tz", ZoneInfo(settings.TIME_ZONE))
        attrs.setdefault("upcoming", settings.NOW_UPCOMING)
        if "at" in attrs:
            try:
                at = datetime.fromisoformat(attrs["at"])
            except ValueError:
                raise serializers.ValidationError({"at": "not an ISO 8601 date and time"}) from None
            # Stepping minutes near the ends of the calendar would overflow it.
            if not 2 <= at.year <= 9998:
                raise serializers.ValidationError({"at": "the year must be between 2 and 9998"})
            attrs["at"] = at if at.tzinfo is not None else at.replace(tzinfo=attrs["tz"])
        else:
            attrs["at"] = timezone.now()
        return attrs


# -- search --------------------------------------------------------------------------------


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=500, trim_whitespace=True,
                              help_text="Text to search by meaning, e.g. 'a rainy station at night'.")  # fmt: skip
    frame = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                     help_text="Find scenes like this stored frame (a result's scene_id).")  # fmt: skip
    minute_from = MinuteField(required=False, help_text="HH:MM: only clips placed from this minute …")
    minute_to = MinuteField(required=False, help_text="… to this one (inclusive; may wrap past midnight).")
    meridiem = serializers.ChoiceField(choices=["am", "pm", "unknown"], required=False)
    video = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    tag = serializers.CharField(required=False, max_length=100, help_text="Only frames tagged with this concept.")
    min_duration = serializers.FloatField(required=False, min_value=0, max_value=10**7)
    max_duration = serializers.FloatField(required=False, min_value=0, max_value=10**7)
    page = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=50, default=20)

    def validate(self, attrs: dict) -> dict:
        if ("minute_from" in attrs) != ("minute_to" in attrs):
            raise serializers.ValidationError({"minute_to": "give minute_from and minute_to together"})
        return attrs


class SceneHitSerializer(serializers.Serializer):
    scene_id = serializers.IntegerField(source="scene.id")
    video = VideoSummarySerializer(source="scene.video")
    second = serializers.FloatField(source="scene.second")
    thumbnail = serializers.SerializerMethodField()
    snippet = SnippetSerializer(source="scene.snippet", allow_null=True)
    score = serializers.FloatField(
        help_text="Cosine similarity to the query, -1 to 1; for an offline text search "
        "alone, how surely the scene shows the matched concepts, 0 to 1."
    )

    def get_thumbnail(self, hit: object) -> str | None:
        name = hit.scene.thumbnail
        if not name:
            return None
        url = settings.MEDIA_URL + name
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class MatchedTermSerializer(serializers.Serializer):
    term = serializers.CharField(help_text="Words of the query.")
    concepts = serializers.ListField(child=serializers.CharField(), help_text="The concepts and tags they match.")


class SearchResultSerializer(serializers.Serializer):
    model = serializers.CharField(help_text="The embedder; vectors of other models are not searched.")
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = SceneHitSerializer(many=True)
    matched = MatchedTermSerializer(many=True, required=False,
                                    help_text="Offline text search: what the query's words matched.")  # fmt: skip
    unmatched = serializers.ListField(child=serializers.CharField(), required=False,
                                      help_text="Offline text search: words that matched no concept.")  # fmt: skip
    suggestions = serializers.ListField(child=serializers.CharField(), required=False,
                                        help_text="When no word matched: the closest concepts.")  # fmt: skip
    detail = serializers.CharField(required=False, help_text="Why there are no results, when no word matched.")


# -- tags ----------------------------------------------------------------------------------


class VideoTagSerializer(serializers.Serializer):
    name = serializers.CharField()
    frames = serializers.IntegerField(help_text="Embedded frames of the video tagged with it.")
    share = serializers.FloatField(help_text="Of the video's embedded frames, 0-1.")
    mean_score = serializers.FloatField()


class SegmentSerializer(serializers.Serializer):
    start = serializers.FloatField()
    end = serializers.FloatField()


class AppearanceSerializer(serializers.Serializer):
    tag = serializers.CharField()
    first_second = serializers.FloatField(allow_null=True, help_text="None: it never appears.")
    total_seconds = serializers.FloatField()
    segments = SegmentSerializer(many=True)


class AppearanceQuerySerializer(serializers.Serializer):
    tag = serializers.CharField(max_length=100, help_text="A concept of the vocabulary, e.g. 'a train station'.")


# -- the ingest page -----------------------------------------------------------------------


class VideoCountsSerializer(serializers.Serializer):
    """A source's videos counted by status (the annotations of selectors.source_list)."""

    total = serializers.IntegerField(source="video_count")
    pending = serializers.IntegerField(source="pending_count")
    downloading = serializers.IntegerField(source="downloading_count")
    downloaded = serializers.IntegerField(source="downloaded_count")
    processing = serializers.IntegerField(source="processing_count")
    processed = serializers.IntegerField(source="processed_count")
    failed = serializers.IntegerField(source="failed_count")
    duplicate = serializers.IntegerField(source="duplicate_count")


class SourceProgressSerializer(SourceSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    videos = VideoCountsSerializer(source="*", read_only=True)

    class Meta(SourceSerializer.Meta):
        fields = [*SourceSerializer.Meta.fields, "kind_label", "videos"]


class ReviewRequestSerializer(serializers.Serializer):
    time = serializers.CharField(required=False, max_length=20, trim_whitespace=True,
                                 help_text="What the clock shows, e.g. 10:42, 10:42 pm or 22:42. Leave out to confirm "
                                 "the proposed time.")  # fmt: skip
    not_a_clock = serializers.BooleanField(required=False, default=False, help_text="There is no clock to read here.")

    def validate_time(self, value: str) -> tuple:
        try:
            return parse_clock_entry(value)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from error

    def validate(self, attrs: dict) -> dict:
        if attrs.get("not_a_clock") and attrs.get("time"):
            raise serializers.ValidationError({"time": "give a time, or say it is no clock, not both"})
        return attrs


class ReviewResultSerializer(serializers.Serializer):
    sighting = serializers.IntegerField()
    reading = ReadingSerializer(allow_null=True)
    minute = serializers.CharField(allow_null=True, help_text="HH:MM where its clip now plays; null for no clock.")
    snippet = serializers.IntegerField(allow_null=True)
    warning = serializers.CharField(allow_blank=True)
    remaining = serializers.IntegerField(help_text="Sightings still waiting for review.")
