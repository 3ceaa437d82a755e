"""Load benchmark for GET /api/now: p50/p99 latency and requests per second.

Starts its own clockweb (`manage.py serve --no-worker`, gunicorn, embedded database) in a
temporary directory, seeds clips at every minute, then runs CONCURRENCY keep-alive clients
for DURATION seconds. Prints one JSON object. Or point it at a running server with --url.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _client(url: str, deadline: float, latencies: list[float], errors: list[str]) -> None:
    parts = urllib.parse.urlsplit(url)
    path = f"{parts.path}?{parts.query}" if parts.query else parts.path
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors.append(f"HTTP {response.status}")
        except (OSError, http.client.HTTPException) as error:
            errors.append(type(error).__name__)
            connection.close()
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            continue
        latencies.append(time.perf_counter() - started)
    connection.close()


def run_load(url: str, concurrency: int, duration: float) -> dict[str, object]:
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + duration
    threads = [threading.Thread(target=_client, args=(url, deadline, latencies, errors)) for _ in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2) if ordered else None,
    }


def _manage(var_dir: str, *args: str, **popen: object) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["CLOCKWEB_VAR_DIR"] = var_dir
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, **popen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="benchmark this server instead of starting one")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--web-workers", type=int, default=2)
    args = parser.parse_args()

    result: dict[str, object] = {"benchmark": "api_now", "concurrency": args.concurrency, "duration_s": args.duration}
    if args.url:
        result.update(run_load(args.url, args.concurrency, args.duration))
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="clockweb-bench-") as var_dir:
        _manage(var_dir, "migrate", "--noinput", stdout=subprocess.DEVNULL).wait()
        seed = "from bench.seed import seed_every_minute; print(seed_every_minute(2))"
        _manage(var_dir, "shell", "-c", seed, stdout=subprocess.DEVNULL).wait()
        port = _free_port()
        server = _manage(
            var_dir, "serve", "--no-worker", "--port", str(port), "--web-workers", str(args.web_workers),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/api/now?tz=Europe/Paris"
            for _ in range(300):
                try:
                    if run_load(url, 1, 0.05)["requests"]:
                        break
                except OSError:
                    pass
                time.sleep(0.2)
            result.update({"web_workers": args.web_workers, "cpus": os.cpu_count()})
            result.update(run_load(url, args.concurrency, args.duration))
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
