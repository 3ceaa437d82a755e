"""Make the database usable before Django touches it.

Called from manage.py and wsgi.py. With the embedded server, the first process
that finds it unowned starts it and stops it when it exits; later processes only
connect. With DATABASE_URL, the server must offer the `vector` extension; if it
does not, the process stops with a one-line error that names the fix.
"""

from __future__ import annotations

import atexit
import sys
from typing import Any

import psycopg
from psycopg import sql

from clockweb.embedded_postgres import EmbeddedPostgres, EmbeddedPostgresBusy, EmbeddedPostgresError

# Commands that never open a database connection, so need no server.
COMMANDS_WITHOUT_DATABASE = frozenset(
    {
        "help",
        "version",
        "--help",
        "-h",
        "--version",
        "collectstatic",
        "check",
        "train_reader",
        "train_detector",
        "render_clock_dataset",
        "read_clock",
        "eval_reader",
        "eval_detector",
    }
)


# Commands that deal with migrations themselves (serve migrates before it serves), or that a
# user runs to look at a database as it is.
COMMANDS_THAT_MIGRATE_OR_INSPECT = frozenset(
    {"migrate", "makemigrations", "showmigrations", "sqlmigrate", "squashmigrations", "serve", "dbshell", "shell",
     "inspectdb", "test"}
)  # fmt: skip


class DatabaseUnavailable(SystemExit):
    """A one-line, user-facing reason why clockweb cannot use its database."""

    def __init__(self, message: str) -> None:
        super().__init__(f"clockweb: {message}")


def prepare_database(*, own: str = "if-free") -> EmbeddedPostgres | None:
    """Start or join the embedded server, or check the external one.

    own: "if-free" starts the embedded server when nobody owns it (manage.py);
    "required" refuses to run unless this process becomes the owner (`manage.py serve`);
    "never" only waits for a server someone else runs (web workers).
    """
    from django.conf import settings

    if settings.EMBEDDED_PGDATA is None:
        check_external_database(settings.DATABASES["default"])
        return None

    server = EmbeddedPostgres(settings.EMBEDDED_PGDATA, shared_buffers=settings.EMBEDDED_SHARED_BUFFERS)
    try:
        if own == "required" or (own == "if-free" and server.owner_pid() is None):
            server.start()
            atexit.register(_stop_when_done, server)
        elif server.owner_pid() is None:
            raise DatabaseUnavailable(
                f"the embedded database in {server.pgdata} is not running; "
                "start clockweb with `make run`, or set DATABASE_URL"
            )
        else:
            server.wait_until_ready()
    except EmbeddedPostgresBusy as busy:
        if own == "required":
            raise DatabaseUnavailable(f"{busy}") from None
        # Lost a race with another process that is starting it: just use theirs.
        server.wait_until_ready()
    except EmbeddedPostgresError as error:
        raise DatabaseUnavailable(str(error)) from None
    _create_database_if_missing(settings.DATABASES["default"])
    return server


def _stop_when_done(server: EmbeddedPostgres) -> None:
    from django.db import connections

    # Our own pooled connections would count as someone still using the server.
    connections.close_all()
    server.stop_unless_in_use()


def _connect(params: dict[str, Any], dbname: str) -> psycopg.Connection:
    return psycopg.connect(
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        dbname=dbname,
        autocommit=True,
        connect_timeout=10,
        **params.get("OPTIONS", {}),
    )


def _create_database_if_missing(params: dict[str, Any]) -> None:
    name = params["NAME"]
    with _connect(params, "postgres") as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def check_external_database(params: dict[str, Any]) -> None:
    """Refuse, in one line, a server that is unreachable or has no pgvector."""
    where = f"{params.get('HOST') or 'localhost'}:{params.get('PORT') or 5432}/{params.get('NAME')}"
    try:
        with _connect(params, params["NAME"]) as connection:
            row = connection.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatabaseUnavailable(f"cannot connect to DATABASE_URL ({where}): {reason}") from None
    if row is None:
        raise DatabaseUnavailable(
            f"the PostgreSQL server at {where} has no pgvector extension; install pgvector there "
            "(e.g. `apt install postgresql-<version>-pgvector`, or the pgvector/pgvector:pg18 image), "
            "or unset DATABASE_URL to use the embedded server"
        )


def command_needs_database(argv: list[str]) -> bool:
    return len(argv) > 1 and argv[1] not in COMMANDS_WITHOUT_DATABASE


def main_guard(argv: list[str]) -> None:
    """manage.py's hook: prepare the database the command needs, or exit with a one-line reason."""
    if not command_needs_database(argv):
        return
    try:
        prepare_database(own="required" if argv[1] == "serve" else "if-free")
        if argv[1] not in COMMANDS_THAT_MIGRATE_OR_INSPECT and not {"-h", "--help"} & set(argv[2:]):
            migrate_if_needed()
    except DatabaseUnavailable as unavailable:
        print(unavailable.code, file=sys.stderr)
        raise SystemExit(2) from None


def unapplied_migrations() -> list[str]:
    """The migrations this code has that the database has not applied, as app.name."""
    import django
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    django.setup()
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, backwards in plan if not backwards]


def migrate_if_needed() -> None:
    """A command run on a database that lacks migrations (a fresh checkout, before `make run`):
    the embedded database is clockweb's own, so it is migrated first, as `make run` does; an
    external one (DATABASE_URL) is left to its owner, and the command stops with one line."""
    from django.conf import settings

    pending = unapplied_migrations()
    if not pending:
        return
    if settings.EMBEDDED_PGDATA is None:
        raise DatabaseUnavailable(
            f"the database at DATABASE_URL lacks {len(pending)} migration(s) (first: {pending[0]}); "
            "run `manage.py migrate` first"
        )
    from django.core.management import call_command

    print(f"clockweb: migrating the embedded database first ({len(pending)} migration(s))", file=sys.stderr)
    call_command("migrate", interactive=False, verbosity=0)
