"""Docker cannot run on our machines, so the compose file is checked here for what it must contain."""

import re

import yaml

from tests.support import PROJECT_ROOT

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_it_has_every_production_service():
    assert set(SERVICES) >= {"postgres", "redis", "migrate", "web", "worker", "gpu-worker", "nginx"}


def test_postgres_is_18_with_pgvector():
    assert re.fullmatch(r"pgvector/pgvector:(.*-)?pg18(-.*)?", SERVICES["postgres"]["image"])


def test_the_app_services_share_the_database_broker_and_media():
    for name in ("web", "worker", "gpu-worker", "migrate"):
        env = SERVICES[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["SERVE_MEDIA"] == "0", "nginx serves media in production"
        assert "media:/data/media" in SERVICES[name]["volumes"]


def test_web_runs_gunicorn_and_workers_run_qcluster():
    assert SERVICES["web"]["command"][0] == "gunicorn"
    assert SERVICES["worker"]["command"][-1] == "qcluster"
    assert SERVICES["gpu-worker"]["command"][-1] == "qcluster"


def test_the_gpu_worker_is_optional_and_asks_for_an_nvidia_gpu():
    gpu = SERVICES["gpu-worker"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["runtime"] == "nvidia"
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert "video" in gpu["environment"]["NVIDIA_DRIVER_CAPABILITIES"]
    assert all("profiles" not in SERVICES[name] for name in ("web", "worker", "postgres", "redis", "nginx"))


def test_nginx_serves_media_from_the_shared_volume_with_range_support():
    nginx = SERVICES["nginx"]
    assert "media:/data/media:ro" in nginx["volumes"]
    conf = (PROJECT_ROOT / "docker" / "nginx.conf").read_text()
    media = re.search(r"location /media/ \{(.*?)\}", conf, re.S).group(1)
    assert "alias /data/media/;" in media
    assert "Accept-Ranges bytes" in media
    assert "max_ranges 0" not in conf, "Range requests must stay enabled"
    assert "proxy_pass http://clockweb_web;" in conf
