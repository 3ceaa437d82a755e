"""A command run on a database without clockweb's tables: the embedded one is migrated first (as
`make run` does); an external one gets one line that says to run `manage.py migrate`."""

import subprocess
import sys

import pytest

from tests.media import make_clip
from tests.support import PROJECT_ROOT, project_env


def _manage(*args: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=project_env(CLOCKWEB_VAR_DIR=str(tmp_path / "var"), **env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ingest_on_a_fresh_checkout_migrates_the_embedded_database_first(tmp_path):
    clip = tmp_path / "clip.mp4"
    make_clip(clip, seconds=2)

    result = _manage("ingest", str(clip), tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "migrating the embedded database first" in result.stderr
    assert "Traceback" not in result.stderr and "does not exist" not in result.stderr
    assert (tmp_path / "var" / "postgres").is_dir()
    # The video is in the catalog, and a second command finds nothing left to migrate.
    listed = _manage("showmigrations", "catalog", tmp_path=tmp_path)
    assert "[ ] " not in listed.stdout, listed.stdout
    again = _manage("ingest", str(clip), tmp_path=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "migrating" not in again.stderr


def test_an_unmigrated_external_database_stops_the_command_with_one_line(tmp_path, embedded_test_server):
    if embedded_test_server is None:
        pytest.skip("the suite itself runs on DATABASE_URL")
    # The test server's own `postgres` database has no clockweb tables.
    url = f"postgresql://postgres@/postgres?host={embedded_test_server.socket_dir}"
    clip = tmp_path / "clip.mp4"
    make_clip(clip, seconds=2)

    result = _manage("ingest", str(clip), tmp_path=tmp_path, DATABASE_URL=url)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "lacks" in lines[0] and "migration(s)" in lines[0]
    assert "`manage.py migrate`" in lines[0]
    listed = _manage("showmigrations", "catalog", tmp_path=tmp_path, DATABASE_URL=url)
    assert "[ ] 0001_initial" in listed.stdout, "nothing was migrated behind the owner's back"
