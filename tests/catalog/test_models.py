import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from catalog.models import ClockSighting, SceneEmbedding, Snippet, Source, TimeReading
from tests.support import make_snippet, make_video

pytestmark = pytest.mark.django_db


def _violates(constraint: str):
    return pytest.raises(IntegrityError, match=constraint)


def _sighting(**fields) -> ClockSighting:
    defaults = {"video": make_video(), "start_seconds": 1.0, "end_seconds": 3.0, "confidence": 0.8}
    return ClockSighting.objects.create(**{**defaults, **fields})


def _reading(**fields) -> TimeReading:
    defaults = {
        "sighting": _sighting(), "hour": 3, "minute": 15, "confidence": 0.9,
        "method": TimeReading.Method.DIGITAL, "shown_at_seconds": 2.0,
    }  # fmt: skip
    return TimeReading.objects.create(**{**defaults, **fields})


@pytest.mark.parametrize("minute_of_day", [1440, 5000])
def test_it_refuses_a_snippet_outside_the_day(minute_of_day):
    video = make_video()
    with transaction.atomic(), _violates("snippet_minute_of_day_0_1439"):
        Snippet.objects.create(video=video, start_seconds=0, end_seconds=5, minute_of_day=minute_of_day)


def test_it_accepts_the_first_and_last_minute_of_the_day():
    assert make_snippet(0).minute_label == "00:00"
    assert make_snippet(1439).minute_label == "23:59"


def test_it_refuses_a_snippet_that_ends_before_it_starts():
    with transaction.atomic(), _violates("snippet_ends_after_start"):
        Snippet.objects.create(video=make_video(), start_seconds=5, end_seconds=5, minute_of_day=10)


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"hour": 0}, "reading_hour_1_12"),
        ({"hour": 13}, "reading_hour_1_12"),
        ({"minute": 60}, "reading_minute_0_59"),
        ({"confidence": 1.01}, "reading_confidence_0_1"),
        ({"confidence": -0.1}, "reading_confidence_0_1"),
        ({"meridiem": "noon"}, "reading_meridiem_valid"),
    ],
)
def test_it_refuses_impossible_readings(fields, constraint):
    with transaction.atomic(), _violates(constraint):
        _reading(**fields)


def test_a_verified_reading_records_when():
    curator = User.objects.create_user("curator")
    with transaction.atomic(), _violates("reading_verified_has_time"):
        _reading(verified_by=curator)


def test_a_reading_shows_its_clock_time():
    reading = _reading(hour=12, minute=5, meridiem="pm")
    assert str(reading) == "12:05 PM"
    assert reading.clock_time.minutes_of_day == (725,)


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"start_seconds": -1.0}, "sighting_start_not_negative"),
        ({"start_seconds": 5.0, "end_seconds": 4.0}, "sighting_ends_after_start"),
        ({"confidence": 2.0}, "sighting_confidence_0_1"),
    ],
)
def test_it_refuses_impossible_sightings(fields, constraint):
    with transaction.atomic(), _violates(constraint):
        _sighting(**fields)


def test_a_video_is_unique_per_extractor_and_id():
    make_video(extractor="youtube", external_id="abc")
    make_video(extractor="vimeo", external_id="abc")
    with transaction.atomic(), _violates("video_unique_extractor_id"):
        make_video(extractor="youtube", external_id="abc")


def test_a_file_is_unique_by_sha256_but_many_videos_may_have_none_yet():
    make_video(sha256="")
    make_video(sha256="")
    make_video(sha256="a" * 64)
    with transaction.atomic(), _violates("video_unique_sha256"):
        make_video(sha256="a" * 64)


def test_it_refuses_a_negative_duration():
    with transaction.atomic(), _violates("video_duration_not_negative"):
        make_video(duration_seconds=-3)


def test_it_refuses_an_empty_source():
    with transaction.atomic(), _violates("source_locator_not_empty"):
        Source.objects.create(kind=Source.Kind.URL, locator="")


def test_an_embedding_is_stored_once_per_frame_and_model():
    video = make_video()
    SceneEmbedding.objects.create(video=video, second=1.0, model_name="m", embedding=[0.1] * 512)
    SceneEmbedding.objects.create(video=video, second=1.0, model_name="other", embedding=[0.1] * 512)
    with transaction.atomic(), _violates("embedding_unique_frame_model"):
        SceneEmbedding.objects.create(video=video, second=1.0, model_name="m", embedding=[0.2] * 512)


def test_an_embedding_has_exactly_512_dimensions():
    from django.db import DataError

    with transaction.atomic(), pytest.raises(DataError, match="512"):
        SceneEmbedding.objects.create(video=make_video(), second=0, model_name="m", embedding=[0.1] * 511)


def test_deleting_a_video_removes_what_was_found_in_it():
    snippet = make_snippet(600)
    snippet.video.delete()
    assert not Snippet.objects.exists()
    assert not TimeReading.objects.exists()
    assert not ClockSighting.objects.exists()


def test_a_snippet_knows_where_its_clock_shows_the_minute():
    snippet = make_snippet(600, start=10.0, shown_at=14.5)
    assert snippet.shown_at_offset == pytest.approx(4.5)
