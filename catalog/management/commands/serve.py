"""`manage.py serve`: the whole app on one machine — database, migrations, web server and workers.

`make run` calls this. It owns the embedded database (manage.py started it before this
command ran), runs gunicorn and a django-q2 cluster as children, and on Ctrl-C or
SIGTERM stops the children, then the database, in that order.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from catalog.models import Source, Video

_PR_SET_PDEATHSIG = 1
_STOP_GRACE_SECONDS = 20


WEB_PROCESS_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _child_setup() -> None:
    # Own session: a terminal's Ctrl-C reaches only `serve`, which then stops the
    # children in order. PDEATHSIG: if `serve` itself is killed, the children follow.
    os.setsid()
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


class Command(BaseCommand):
    help = "Run clockweb: migrate, then serve the site with gunicorn beside a django-q2 cluster."
    requires_system_checks = []

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--host", default=settings.WEB_HOST)
        parser.add_argument("--port", type=int, default=settings.WEB_PORT)
        parser.add_argument("--web-workers", type=int, default=settings.WEB_WORKERS)
        parser.add_argument("--no-worker", action="store_true", help="Serve the site without a task cluster.")

    def handle(self, *args: object, host: str, port: int, web_workers: int, no_worker: bool, **options: object) -> None:
        self._refuse_if_port_taken(host, port)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        settings.MEDIA_ROOT.mkdir(parents=True, exist_ok=True)

        children: dict[str, subprocess.Popen] = {}
        signal.signal(signal.SIGTERM, _raise_stop)
        signal.signal(signal.SIGINT, _raise_stop)
        try:
            gunicorn = [sys.executable, "-m", "gunicorn", "clockweb.wsgi:application", "--bind", f"{host}:{port}"]
            gunicorn += [
                "--workers",
                str(web_workers),
                "--threads",
                str(settings.WEB_THREADS),
                "--graceful-timeout",
                "10",
                "--timeout",
                str(settings.WEB_TIMEOUT),
            ]
            gunicorn += ["--access-logfile", "-", "--no-control-socket"]
            # One math thread per web process: several processes each spinning two OpenMP threads
            # on two cores made a search 20 times slower under load (a search embeds its text).
            children["web"] = self._spawn(gunicorn, env=WEB_PROCESS_ENV)
            if not no_worker:
                qcluster = [sys.executable, str(settings.BASE_DIR / "manage.py"), "qcluster"]
                children["worker"] = self._spawn(qcluster, queue=settings.Q_CPU_QUEUE)
                children["gpu worker"] = self._spawn(qcluster, queue=settings.Q_GPU_QUEUE)
                if settings.DEMO_ON_EMPTY and not Video.objects.exists() and not Source.objects.exists():
                    self.stdout.write("Empty catalog: rendering the demo library and queueing it for the workers…")
                    demo = [sys.executable, str(settings.BASE_DIR / "manage.py"), "make_demo", "--ingest"]
                    children["demo"] = self._spawn(demo)
            self.stdout.write(
                self.style.SUCCESS(f"clockweb is running at http://{host}:{port}/")
                + f"  (web pid {children['web'].pid}"
                + (f", workers pid {children['worker'].pid}" if "worker" in children else "")
                + (f" and {children['gpu worker'].pid}" if "gpu worker" in children else "")
                + ")\nPress Ctrl-C to stop the web server, the workers and the database."
            )
            self._watch(children)
        except Stop as stop:
            self.stdout.write(f"\n{stop}: stopping clockweb…")
        finally:
            self._stop_all(children)
        self.stdout.write("clockweb stopped.")

    def _refuse_if_port_taken(self, host: str, port: int) -> None:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise CommandError(
                    f"cannot listen on {host}:{port} ({error.strerror}); is clockweb already running? "
                    "Set WEB_PORT to use another port."
                ) from None

    def _spawn(
        self, command: list[str], queue: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        environment = {**os.environ, **(env or {})}
        if queue is not None:  # django-q2 serves the queue its Q_CLUSTER_NAME names
            environment["Q_CLUSTER_NAME"] = queue
        return subprocess.Popen(command, cwd=settings.BASE_DIR, preexec_fn=_child_setup, env=environment)

    def _watch(self, children: dict[str, subprocess.Popen]) -> None:
        while True:
            for name, child in list(children.items()):
                code = child.poll()
                if code is None:
                    continue
                if name == "demo":  # a one-off job: the site keeps running whatever became of it
                    del children[name]
                    if code != 0:
                        self.stderr.write(f"the demo library could not be made (exit code {code}); see above")
                    continue
                raise CommandError(f"the {name} process exited unexpectedly with code {code}")
            time.sleep(0.5)

    def _stop_all(self, children: dict[str, subprocess.Popen]) -> None:
        # A second Ctrl-C must not abandon the children half-stopped; they are killed after the grace time.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # In order: the web server first (no new work comes in), then the workers. Each child leads its
        # own process group; the leader is asked to stop and stops the processes it forked (gunicorn's
        # and django-q2's own shutdown); whatever is left of the group after the grace time is killed.
        for name, child in children.items():
            self._stop_group(name, child)

    def _stop_group(self, name: str, child: subprocess.Popen) -> None:
        # Only the leader: a django-q2 worker killed by a signal of its own while it waits on the task
        # queue leaves the queue's lock held, and the cluster then waits for it until killed.
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.stderr.write(f"the {name} processes did not stop in {_STOP_GRACE_SECONDS} s; killing them")
        # Whatever the leader did, no process of its group may outlive `serve`.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
