import pytest
from django.urls import reverse

from catalog.models import ClockSighting, SceneEmbedding, Snippet, Source, TimeReading, Video
from tests.support import make_snippet

pytestmark = pytest.mark.django_db

MODELS = [Source, Video, ClockSighting, TimeReading, Snippet, SceneEmbedding]


@pytest.fixture
def catalog_rows():
    snippet = make_snippet(600)
    Source.objects.create(kind=Source.Kind.SEARCH, locator="ytsearch5:railway station clock", max_items=5)
    SceneEmbedding.objects.create(video=snippet.video, second=1.0, model_name="m", embedding=[0.1] * 512)
    return snippet


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_model_has_an_admin_list_with_filters_and_a_change_page(admin_client, catalog_rows, model):
    changelist = reverse(f"admin:catalog_{model._meta.model_name}_changelist")
    response = admin_client.get(changelist)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    if response.context["cl"].has_filters:
        assert b"changelist-filter" in response.content

    change = reverse(f"admin:catalog_{model._meta.model_name}_change", args=[model.objects.get().pk])
    assert admin_client.get(change).status_code == 200


def test_curators_can_mark_readings_verified_from_the_list(admin_client, admin_user, catalog_rows):
    reading = catalog_rows.reading
    response = admin_client.post(
        reverse("admin:catalog_timereading_changelist"),
        {"action": "mark_verified", "_selected_action": [reading.pk]},
        follow=True,
    )
    assert response.status_code == 200
    reading.refresh_from_db()
    assert reading.verified_by == admin_user
    assert reading.verified_at is not None


def test_the_admin_refuses_anonymous_users(client):
    response = client.get(reverse("admin:catalog_video_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_can_fetch_sources_now_from_the_admin(admin_client):
    from django_q.models import OrmQ

    remote = Source.objects.create(kind=Source.Kind.URL, locator="https://example.org/a.mp4")
    Source.objects.create(kind=Source.Kind.LOCAL, locator="/srv/videos")
    response = admin_client.post(
        reverse("admin:catalog_source_changelist"),
        {"action": "fetch_now", "_selected_action": list(Source.objects.values_list("pk", flat=True))},
        follow=True,
    )
    assert "1 source(s) queued for the workers. 1 local source(s) skipped" in response.content.decode()
    assert OrmQ.objects.count() == 1
    assert OrmQ.objects.get().task["name"] == f"discover source {remote.pk}"


def test_staff_can_retry_failed_downloads_from_the_admin(admin_client):
    from django_q.models import OrmQ

    failed = Video.objects.create(extractor="generic", external_id="f", status=Video.Status.FAILED, error="boom")
    fine = Video.objects.create(extractor="generic", external_id="g", status=Video.Status.DOWNLOADED)
    admin_client.post(
        reverse("admin:catalog_video_changelist"),
        {"action": "retry_download", "_selected_action": [failed.pk, fine.pk]},
    )
    failed.refresh_from_db()
    assert failed.status == Video.Status.PENDING and failed.error == ""
    assert OrmQ.objects.count() == 1
