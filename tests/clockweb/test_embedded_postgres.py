"""The embedded server's lifecycle: restarts, crashes, and two processes wanting to own it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import psycopg
import pytest

from clockweb.embedded_postgres import EmbeddedPostgres, EmbeddedPostgresBusy, socket_dir_for
from tests.support import PROJECT_ROOT, process_is_gone

pytestmark = pytest.mark.slow


@pytest.fixture
def pgdata(tmp_path: Path):
    path = tmp_path / "postgres"
    yield path
    # Whatever a test did, leave no server running.
    leftover = EmbeddedPostgres(path)
    server = leftover.running_server()
    if server is not None:
        psutil.Process(server.pid).kill()


def _query(server: EmbeddedPostgres, sql: str) -> list[tuple]:
    with psycopg.connect(host=str(server.socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def test_it_runs_postgres_18_with_pgvector_0_8(pgdata):
    server = EmbeddedPostgres(pgdata)
    server.start()
    try:
        assert _query(server, "SELECT current_setting('server_version_num')::int / 10000")[0][0] == 18
        _query(server, "CREATE EXTENSION IF NOT EXISTS vector")
        version = _query(server, "SELECT extversion FROM pg_extension WHERE extname = 'vector'")[0][0]
        assert version.startswith("0.8")
        assert (server.socket_dir / ".s.PGSQL.5432").is_socket()
    finally:
        server.stop()
    assert server.running_server() is None


def test_it_gives_the_server_the_shared_memory_it_is_asked_for(pgdata):
    server = EmbeddedPostgres(pgdata, shared_buffers="200MB")
    server.start()
    try:
        assert _query(server, "SHOW shared_buffers") == [("200MB",)]
    finally:
        server.stop()


def test_it_keeps_its_data_across_restarts(pgdata):
    first = EmbeddedPostgres(pgdata)
    first.start()
    _query(first, "CREATE TABLE kept (n int)")
    _query(first, "INSERT INTO kept VALUES (42)")
    first.stop()

    second = EmbeddedPostgres(pgdata)
    second.start()
    try:
        assert _query(second, "SELECT n FROM kept") == [(42,)]
    finally:
        second.stop()


def test_a_second_owner_is_refused_with_a_message_naming_the_first(pgdata):
    owner = EmbeddedPostgres(pgdata)
    owner.start()
    try:
        with pytest.raises(EmbeddedPostgresBusy, match=rf"already run by process {os.getpid()}"):
            EmbeddedPostgres(pgdata).start()
        assert EmbeddedPostgres(pgdata).owner_pid() == os.getpid()
    finally:
        owner.stop()
    assert EmbeddedPostgres(pgdata).owner_pid() is None


def test_a_second_owner_in_another_process_is_refused(pgdata):
    owner = EmbeddedPostgres(pgdata)
    owner.start()
    try:
        script = (
            "import sys; from pathlib import Path\n"
            "from clockweb.embedded_postgres import EmbeddedPostgres\n"
            f"EmbeddedPostgres(Path({str(pgdata)!r})).start()\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
        )
        assert result.returncode != 0
        assert f"already run by process {os.getpid()}" in result.stderr
    finally:
        owner.stop()


def _crash(server: EmbeddedPostgres) -> int:
    """SIGKILL the postmaster, as a power cut or OOM killer would, and wait for its children to go."""
    running = server.running_server()
    assert running is not None
    postmaster = psutil.Process(running.pid)
    children = postmaster.children(recursive=True)
    postmaster.send_signal(signal.SIGKILL)
    psutil.wait_procs([postmaster, *children], timeout=20)
    server._release()
    return running.pid


def test_it_recovers_after_a_crash_left_a_stale_pid_file(pgdata):
    server = EmbeddedPostgres(pgdata)
    server.start()
    _query(server, "CREATE TABLE survived (n int)")
    _query(server, "INSERT INTO survived VALUES (7)")
    _crash(server)
    assert (pgdata / "postmaster.pid").exists()

    restarted = EmbeddedPostgres(pgdata)
    restarted.start()
    try:
        assert _query(restarted, "SELECT n FROM survived") == [(7,)]
    finally:
        restarted.stop()


def test_it_recovers_when_the_stale_pid_now_belongs_to_another_program(pgdata):
    server = EmbeddedPostgres(pgdata)
    server.start()
    _crash(server)
    # After a reboot the old pid may be any program; here, a sleeping process.
    impostor = subprocess.Popen(["sleep", "60"])
    try:
        pid_file = pgdata / "postmaster.pid"
        lines = pid_file.read_text().splitlines()
        pid_file.write_text("\n".join([str(impostor.pid), *lines[1:]]) + "\n")

        restarted = EmbeddedPostgres(pgdata)
        restarted.start()
        try:
            assert _query(restarted, "SELECT 1") == [(1,)]
            assert restarted.running_server().pid != impostor.pid
        finally:
            restarted.stop()
        assert impostor.poll() is None, "the unrelated process must be left alone"
    finally:
        impostor.kill()


def test_an_owner_that_dies_leaves_the_server_for_the_next_owner(pgdata):
    script = (
        "import os; from pathlib import Path\n"
        "from clockweb.embedded_postgres import EmbeddedPostgres\n"
        f"EmbeddedPostgres(Path({str(pgdata)!r})).start()\n"
        "os._exit(0)\n"  # die without stopping the server, like a SIGKILLed `make run`
    )
    subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, check=True, timeout=60)
    orphan = EmbeddedPostgres(pgdata).running_server()
    assert orphan is not None

    adopter = EmbeddedPostgres(pgdata)
    adopter.start()
    try:
        assert adopter.running_server().pid == orphan.pid
        assert _query(adopter, "SELECT 1") == [(1,)]
    finally:
        adopter.stop()
    assert process_is_gone(orphan.pid)


def test_a_long_data_path_gets_a_short_socket_directory(tmp_path):
    deep = tmp_path.joinpath(*["a-rather-long-directory-name"] * 5) / "postgres"
    socket_dir = socket_dir_for(deep)
    assert socket_dir != deep
    assert len(str(socket_dir / ".s.PGSQL.5432")) <= 100
    assert socket_dir_for(deep) == socket_dir, "the same data directory always gets the same socket"


def test_an_owner_leaving_while_others_use_the_server_leaves_it_running(pgdata):
    owner = EmbeddedPostgres(pgdata)
    owner.start()
    other = psycopg.connect(host=str(owner.socket_dir), user="postgres", dbname="postgres")
    try:
        owner.stop_unless_in_use()
        assert owner.running_server() is not None, "a client was still connected"
        assert EmbeddedPostgres(pgdata).owner_pid() is None, "but ownership was given up"
    finally:
        other.close()
    last = EmbeddedPostgres(pgdata)
    last.start()
    last.stop_unless_in_use()
    assert last.running_server() is None
