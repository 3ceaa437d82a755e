from django.contrib.auth import views as auth_views
from django.urls import path

from catalog import api, views

urlpatterns = [
    path("", views.live, name="live"),
    path("search/", views.search, name="search"),
    path("minutes/", views.minutes, name="minutes"),
    path("minutes/<str:hhmm>/", views.minute, name="minute"),
    path("videos/<int:pk>/", views.video, name="video"),
    path("review/", views.review, name="review"),
    path("review/<int:pk>/<str:name>.jpg", views.review_image, name="review-image"),
    path("review/export.zip", views.review_export, name="review-export"),
    path("ingest/", views.ingest, name="ingest"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("live.m3u8", views.live_playlist, name="live-playlist"),
    path("live/<int:unix_minute>/<int:index>.ts", views.live_segment, name="live-segment"),
    path("api/videos/", api.VideoList.as_view(), name="api-videos"),
    path("api/videos/<int:pk>/", api.VideoDetail.as_view(), name="api-video"),
    path("api/videos/<int:pk>/retry/", api.retry_video, name="api-video-retry"),
    path("api/videos/<int:pk>/tags/", api.video_tags, name="api-video-tags"),
    path("api/videos/<int:pk>/appearances/", api.video_appearances, name="api-video-appearances"),
    path("api/ingest/", api.ingest, name="api-ingest"),
    path("api/sources/", api.SourceList.as_view(), name="api-sources"),
    path("api/sightings/<int:pk>/review/", api.review_sighting, name="api-sighting-review"),
    path("api/snippets/", api.SnippetList.as_view(), name="api-snippets"),
    path("api/minutes/", api.minutes, name="api-minutes"),
    path("api/now", api.now, name="api-now"),
    path("api/search", api.search, name="api-search"),
]
