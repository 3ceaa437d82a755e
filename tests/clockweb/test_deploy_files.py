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


def test_compose_workers_serve_the_cpu_and_gpu_queues():
    from django.conf import settings

    assert SERVICES["worker"]["environment"]["Q_CLUSTER_NAME"] == settings.Q_CPU_QUEUE
    gpu = SERVICES["gpu-worker"]["environment"]
    assert gpu["Q_CLUSTER_NAME"] == settings.Q_GPU_QUEUE
    assert gpu["CLOCKWEB_DEVICE"] == "cuda" and gpu["FFMPEG_GPU"] == "1"


KUBERNETES = PROJECT_ROOT / "deploy" / "kubernetes"


def _manifests() -> dict[tuple[str, str], dict]:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    found = {}
    for name in kustomization["resources"]:
        for document in yaml.safe_load_all((KUBERNETES / name).read_text()):
            found[(document["kind"], document["metadata"]["name"])] = document
    return found


def test_kubernetes_has_web_both_worker_kinds_migrations_and_shared_media():
    manifests = _manifests()
    deployments = {name: doc for (kind, name), doc in manifests.items() if kind == "Deployment"}
    assert set(deployments) == {"clockweb-web", "clockweb-worker-cpu", "clockweb-worker-gpu"}
    assert ("Job", "clockweb-migrate") in manifests and ("Service", "clockweb-web") in manifests
    assert manifests[("PersistentVolumeClaim", "clockweb-media")]["spec"]["accessModes"] == ["ReadWriteMany"]
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert {"configMapRef": {"name": "clockweb"}} in container["envFrom"], name
        assert {"secretRef": {"name": "clockweb"}} in container["envFrom"], name
        assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "clockweb-media"
        assert container["volumeMounts"][0]["mountPath"] == "/data/media"
    web = deployments["clockweb-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["command"][0] == "gunicorn" and web["readinessProbe"]["httpGet"]["path"] == "/healthz"


def test_kubernetes_gpu_workers_request_a_gpu_and_serve_the_gpu_queue():
    from django.conf import settings

    deployments = {name: doc for (kind, name), doc in _manifests().items() if kind == "Deployment"}

    def worker(name: str) -> dict:
        return deployments[name]["spec"]["template"]["spec"]["containers"][0]

    gpu, cpu = worker("clockweb-worker-gpu"), worker("clockweb-worker-cpu")
    assert gpu["resources"]["requests"]["nvidia.com/gpu"] == 1 and gpu["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert "nvidia.com/gpu" not in cpu["resources"]["requests"]
    env = {item["name"]: item["value"] for item in gpu["env"]}
    assert env["Q_CLUSTER_NAME"] == settings.Q_GPU_QUEUE and env["CLOCKWEB_DEVICE"] == "cuda"
    assert {item["name"]: item["value"] for item in cpu["env"]}["Q_CLUSTER_NAME"] == settings.Q_CPU_QUEUE
    assert gpu["command"][-1] == cpu["command"][-1] == "qcluster"


def test_no_secret_is_written_into_the_applied_kubernetes_files():
    config = _manifests()[("ConfigMap", "clockweb")]["data"]
    assert not {"SECRET_KEY", "DATABASE_URL"} & set(config)
    assert "secret.example.yaml" not in yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())["resources"]
