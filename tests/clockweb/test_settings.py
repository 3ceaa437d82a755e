"""Settings come from the environment alone, with safe defaults."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from clockweb.settings import env_bool, env_grid_or_none, env_int, env_list
from tests.support import PROJECT_ROOT, project_env

_PRINT_SETTINGS = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps({'debug': settings.DEBUG, 'secret': settings.SECRET_KEY, 'q': settings.Q_CLUSTER,"
    " 'db': settings.DATABASES['default']['HOST'], 'media': str(settings.MEDIA_ROOT)}))"
)


def _settings(tmp_path, **env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _PRINT_SETTINGS],
        cwd=PROJECT_ROOT,
        env=project_env(DJANGO_SETTINGS_MODULE="clockweb.settings", CLOCKWEB_VAR_DIR=str(tmp_path), **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise AssertionError(result.stderr)
    return json.loads(result.stdout)


def test_debug_is_off_unless_asked_for(tmp_path):
    assert _settings(tmp_path)["debug"] is False
    assert _settings(tmp_path, DEBUG="1")["debug"] is True


def test_a_secret_key_is_generated_once_and_kept(tmp_path):
    first = _settings(tmp_path)["secret"]
    second = _settings(tmp_path)["secret"]
    assert first == second
    assert len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0, "readable by its owner only"


def test_a_secret_key_from_the_environment_wins_and_nothing_is_written(tmp_path):
    assert _settings(tmp_path, SECRET_KEY="from-the-environment")["secret"] == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_the_task_queue_retries_only_after_its_timeout(tmp_path):
    q = _settings(tmp_path)["q"]
    assert q["retry"] > q["timeout"]
    assert q["max_attempts"] >= 1
    assert q["orm"] == "default"
    assert "redis" not in q


def test_redis_url_switches_the_broker_to_redis(tmp_path):
    q = _settings(tmp_path, REDIS_URL="redis://127.0.0.1:6379/3")["q"]
    assert q["redis"] == "redis://127.0.0.1:6379/3"
    assert "orm" not in q


def test_a_retry_not_above_the_timeout_is_refused(tmp_path):
    with pytest.raises(AssertionError, match=r"Q_RETRY \(600\) must be greater than Q_TIMEOUT \(600\)"):
        _settings(tmp_path, Q_TIMEOUT="600", Q_RETRY="600")


def test_the_embedded_database_is_reached_over_its_socket_under_var(tmp_path):
    settings = _settings(tmp_path)
    assert settings["db"] == str(tmp_path / "postgres")
    assert settings["media"] == str(tmp_path / "media")


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("yes", True), ("off", False), ("", False)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, value):
    monkeypatch.setenv("CLOCKWEB_TEST_FLAG", raw)
    assert env_bool("CLOCKWEB_TEST_FLAG") is value


def test_typed_env_helpers_refuse_nonsense(monkeypatch):
    monkeypatch.setenv("CLOCKWEB_TEST_VALUE", "maybe")
    with pytest.raises(ImproperlyConfigured, match="not a boolean"):
        env_bool("CLOCKWEB_TEST_VALUE")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("CLOCKWEB_TEST_VALUE", 1)
    monkeypatch.setenv("CLOCKWEB_TEST_VALUE", "0")
    with pytest.raises(ImproperlyConfigured, match="below its minimum"):
        env_int("CLOCKWEB_TEST_VALUE", 1, minimum=1)
    monkeypatch.setenv("CLOCKWEB_TEST_VALUE", " a, b ,,c ")
    assert env_list("CLOCKWEB_TEST_VALUE", []) == ["a", "b", "c"]


@pytest.mark.parametrize(("raw", "grid"), [("3x2", (3, 2)), (" 2 X 4 ", (2, 4)), ("", None), ("off", None)])
def test_a_tile_grid_is_columns_by_rows_or_off(monkeypatch, raw, grid):
    monkeypatch.setenv("CLOCKWEB_DETECTOR_TILES", raw)
    assert env_grid_or_none("CLOCKWEB_DETECTOR_TILES") == grid


@pytest.mark.parametrize("raw", ["3", "1x1", "9x2", "0x3", "three by two"])
def test_a_bad_tile_grid_is_a_clear_error(monkeypatch, raw):
    monkeypatch.setenv("CLOCKWEB_DETECTOR_TILES", raw)
    with pytest.raises(ImproperlyConfigured, match=r"CLOCKWEB_DETECTOR_TILES.*COLUMNSxROWS"):
        env_grid_or_none("CLOCKWEB_DETECTOR_TILES")


def test_the_installed_models_are_found_whatever_the_var_dir(tmp_path):
    # make install puts NanoDet-m in the checkout's var/models; a private CLOCKWEB_VAR_DIR (the
    # benchmarks', a deployment's) must still find it, or the scan falls back to a weaker detector.
    script = ("import json, django; from django.conf import settings; django.setup();"
              "print(json.dumps([settings.NANODET_WEIGHTS, str(settings.DETECTOR_CACHE_DIR)]))")  # fmt: skip
    env = project_env(DJANGO_SETTINGS_MODULE="clockweb.settings", CLOCKWEB_VAR_DIR=str(tmp_path))
    run = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=True)  # fmt: skip
    nanodet, cache = json.loads(run.stdout)
    assert nanodet == str((PROJECT_ROOT / "var" / "models" / "nanodet-m.pt").resolve())
    assert cache == str((PROJECT_ROOT / "var" / "models").resolve())
    moved = tmp_path / "models"
    env["CLOCKWEB_MODELS_DIR"] = str(moved)
    run = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=True)  # fmt: skip
    assert json.loads(run.stdout) == [str(moved / "nanodet-m.pt"), str(moved)]
