"""DATABASE_URL: an external server is used as given, and one without pgvector is refused in one line."""

import subprocess
import sys

import psycopg
import pytest

from tests.support import PROJECT_ROOT, project_env

# The machine's own PostgreSQL 15, which has no pgvector: exactly the server to refuse.
PLAIN_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def _plain_postgres_or_skip() -> None:
    try:
        with psycopg.connect(PLAIN_POSTGRES, connect_timeout=3) as connection:
            has_vector = connection.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    except psycopg.OperationalError as error:
        pytest.skip(f"no plain PostgreSQL on 127.0.0.1:5432 to test against ({error})")
    if has_vector:
        pytest.skip("the PostgreSQL on 127.0.0.1:5432 has pgvector, so it cannot stand in for one without")


def _manage(*args: str, database_url: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=project_env(DATABASE_URL=database_url, CLOCKWEB_VAR_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_server_without_pgvector_is_refused_with_one_line_that_names_the_fix(tmp_path):
    _plain_postgres_or_skip()

    result = _manage("migrate", database_url=PLAIN_POSTGRES, tmp_path=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "has no pgvector extension" in lines[0]
    assert "install pgvector" in lines[0]
    assert "unset DATABASE_URL" in lines[0]
    assert not (tmp_path / "postgres").exists(), "no embedded server is started when DATABASE_URL is set"


def test_an_unreachable_server_is_reported_in_one_line(tmp_path):
    result = _manage("migrate", database_url="postgresql://postgres@127.0.0.1:9/nowhere", tmp_path=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("clockweb: cannot connect to DATABASE_URL (127.0.0.1:9/nowhere)")


def test_a_server_with_pgvector_is_used_as_given(tmp_path, embedded_test_server):
    if embedded_test_server is None:
        pytest.skip("the suite itself runs on DATABASE_URL")
    url = f"postgresql://postgres@/postgres?host={embedded_test_server.socket_dir}"

    result = _manage("showmigrations", "catalog", database_url=url, tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "0001_initial" in result.stdout
    assert not (tmp_path / "postgres").exists()
