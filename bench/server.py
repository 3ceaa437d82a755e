"""What the HTTP benchmarks share: a private clockweb (`manage.py serve --no-worker`, gunicorn,
embedded database) in a temporary directory, seeded by a snippet of Python run in `manage.py
shell`; and how latencies are summarised."""

from __future__ import annotations

import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(var_dir: str, *args: str, env: dict[str, str] | None = None, **popen: object) -> subprocess.Popen:
    """`manage.py ARGS` on the benchmark's own embedded database (never a DATABASE_URL or Redis
    from the caller's environment)."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    clean.update(env or {}, CLOCKWEB_VAR_DIR=var_dir, CLOCKWEB_DEMO_ON_EMPTY="0")
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=clean, **popen)


@contextmanager
def served(*, seed: str, web_workers: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """The base URL of a freshly migrated and seeded clockweb, stopped (with its database) after."""
    with tempfile.TemporaryDirectory(prefix="clockweb-bench-") as var_dir:
        if manage(var_dir, "migrate", "--noinput", env=env, stdout=subprocess.DEVNULL).wait() != 0:
            raise SystemExit("migrate failed")
        if manage(var_dir, "shell", "-c", seed, env=env, stdout=subprocess.DEVNULL).wait() != 0:
            raise SystemExit("seeding failed")
        port = free_port()
        log = (Path(var_dir) / "serve.log").open("w")  # closed in the finally below
        server = manage(var_dir, "serve", "--no-worker", "--port", str(port), "--web-workers", str(web_workers),
                        env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                if server.poll() is not None:
                    raise SystemExit(f"the server exited with code {server.returncode}")
                time.sleep(0.2)
            yield base
        except BaseException:
            log.flush()
            sys.stderr.write("the server's last words:\n" + (Path(var_dir) / "serve.log").read_text()[-4000:])
            raise
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
            log.close()


def latency_summary(latencies: list[float], elapsed: float) -> dict[str, object]:
    """Requests, throughput, and the median and 99th percentile (nearest rank) in milliseconds."""
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "requests_per_second": round(len(ordered) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
        "p99_ms": round(ordered[math.ceil(len(ordered) * 0.99) - 1] * 1000, 2) if ordered else None,
    }
