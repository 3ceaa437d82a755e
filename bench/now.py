"""Load benchmark for GET /api/now: p50/p99 latency and requests per second.

Starts its own clockweb (`manage.py serve --no-worker`, gunicorn, embedded database) in a
temporary directory, seeds clips at every minute, then runs CONCURRENCY keep-alive clients
for DURATION seconds twice: as fast as they can (throughput), then together offering RATE
requests per second (latency at that load). Prints one JSON object. Or point it at a running
server with --url.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.server import latency_summary, served


def _client(url: str, deadline: float, latencies: list[float], errors: list[str], interval: float | None,
            offset: float) -> None:  # fmt: skip
    parts = urllib.parse.urlsplit(url)
    path = f"{parts.path}?{parts.query}" if parts.query else parts.path
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    next_send = time.perf_counter() + offset
    while time.monotonic() < deadline:
        if interval is None:  # closed loop: the next request as soon as the answer is in
            started = time.perf_counter()
        else:
            # Paced: latency counts from when the request was due, so a slow answer that delays
            # the next request is not hidden (no coordinated omission).
            started = next_send
            next_send += interval
            pause = started - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
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


def run_load(url: str, concurrency: int, duration: float, rate: float | None = None) -> dict[str, object]:
    """`concurrency` clients for `duration` seconds: as fast as they can (rate None), or together
    offering `rate` requests per second, evenly spread."""
    interval = concurrency / rate if rate else None
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + duration
    threads = [
        threading.Thread(
            target=_client, args=(url, deadline, latencies, errors, interval, (interval or 0) * index / concurrency)
        )
        for index in range(concurrency)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"errors": len(errors), **latency_summary(latencies, time.monotonic() - started)}


def _both_loads(url: str, args: argparse.Namespace) -> dict[str, object]:
    """Saturation (how many requests per second the server answers; with closed-loop clients the
    latency there is just the queue, concurrency / throughput) and a paced run at --rate, where the
    latency is what a client sees at that load."""
    saturated = run_load(url, args.concurrency, args.duration)
    paced = run_load(url, args.concurrency, args.duration, rate=args.rate)
    return {
        "requests_per_second": saturated["requests_per_second"],
        "errors": saturated["errors"] + paced["errors"],
        "saturated": saturated,
        "paced": {"offered_per_second": args.rate, **paced},
        "p99_ms_at_offered_rate": paced["p99_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="benchmark this server instead of starting one")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--web-workers", type=int, default=4, help="as `serve` runs by default (WEB_WORKERS)")
    parser.add_argument("--rate", type=float, default=1000.0, help="offered requests per second for the paced run")
    args = parser.parse_args()

    result: dict[str, object] = {"benchmark": "api_now", "concurrency": args.concurrency, "duration_s": args.duration}
    if args.url:
        result.update(_both_loads(args.url, args))
        print(json.dumps(result))
        return

    seed = "from bench.seed import seed_every_minute; print(seed_every_minute(2))"
    with served(seed=seed, web_workers=args.web_workers) as base:
        result.update({"web_workers": args.web_workers, "cpus": os.cpu_count()})
        result.update(_both_loads(f"{base}/api/now?tz=Europe/Paris", args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
