"""`manage.py serve`, which `make run` calls: database, migrations, web server and workers, and a clean stop."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from clockweb.embedded_postgres import EmbeddedPostgres
from tests.support import PROJECT_ROOT, free_port, process_is_gone, project_env

pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early:\n{process.stdout.read()}")
        try:
            if _get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def _manage(var_dir: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=project_env(CLOCKWEB_VAR_DIR=str(var_dir)),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def served(tmp_path: Path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port), "--web-workers", "1"],
        cwd=PROJECT_ROOT,
        env=project_env(CLOCKWEB_VAR_DIR=str(tmp_path), Q_WORKERS="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", process)
        yield process, port, tmp_path
    finally:
        if process.poll() is None:
            process.kill()
        for child in psutil.Process().children(recursive=True):
            child.kill()
        orphan = EmbeddedPostgres(tmp_path / "postgres").running_server()
        if orphan is not None:
            psutil.Process(orphan.pid).kill()


def test_it_serves_the_site_runs_tasks_and_stops_everything_on_ctrl_c(served):
    process, port, var_dir = served
    base = f"http://127.0.0.1:{port}"
    children = psutil.Process(process.pid).children(recursive=True)
    postmaster = EmbeddedPostgres(var_dir / "postgres").running_server()
    assert postmaster is not None

    # The site, its static files (whitenoise, DEBUG off) and the API answer.
    status, home = _get(f"{base}/")
    assert status == 200 and b"clockweb" in home
    assert _get(f"{base}/api/docs/")[0] == 200
    assert _get(f"{base}/api/now?tz=Europe/Paris")[0] == 200
    assert _get(f"{base}/api/now?tz=Nowhere/Special")[0] == 400
    css = [line for line in home.decode().split('"') if line.startswith("/static/css/site")]
    assert css and _get(base + css[0])[0] == 200

    # A task queued from another process is run by the cluster beside the web server.
    enqueue = (
        "from django_q.tasks import async_task, result; import json;"
        "task = async_task('catalog.tasks.ping');"
        "print(json.dumps(result(task, wait=60000)))"
    )
    ran = _manage(var_dir, "shell", "-c", enqueue)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout.strip().splitlines()[-1])["pid"] in {c.pid for c in children} | {
        grandchild.pid for c in children for grandchild in c.children(recursive=True)
    }

    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)

    assert process.returncode == 0, output
    assert "clockweb stopped." in output
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"still running: {alive}"
    assert process_is_gone(postmaster.pid)
    assert EmbeddedPostgres(var_dir / "postgres").running_server() is None


def test_a_second_serve_is_refused_while_the_first_runs(served):
    process, port, var_dir = served

    second = _manage(var_dir, "serve", "--port", str(free_port()))

    assert second.returncode == 2
    assert f"already run by process {process.pid}" in second.stderr
    assert process.poll() is None, "the first one keeps running"
    assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200


def test_a_command_run_alone_starts_the_database_and_stops_it_after(tmp_path):
    result = _manage(tmp_path, "migrate", "--noinput")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "postgres" / "PG_VERSION").read_text().strip() == "18"
    assert EmbeddedPostgres(tmp_path / "postgres").running_server() is None
    assert EmbeddedPostgres(tmp_path / "postgres").owner_pid() is None

    again = _manage(tmp_path, "showmigrations", "catalog")
    assert "[X] 0001_initial" in again.stdout, "the data survived the stop"
