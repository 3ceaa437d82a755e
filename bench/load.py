"""Load benchmark: CONCURRENCY clients for DURATION seconds against the live, browse and search
endpoints of one clockweb served by gunicorn. Prints one JSON object: the error count (target 0),
p50/p99 latency and throughput, overall and per endpoint group.

Starts its own clockweb (`manage.py serve --no-worker`, WEB_WORKERS gunicorn workers, embedded
database) in a temporary directory, seeds clips at every minute and SCENES scene vectors, and
embeds search queries with the real ViT-B-32 architecture (random weights: the same compute as the
released model, which can't be downloaded here). Each client keeps one HTTP/1.1 connection open and
sends its next request as soon as the answer is in (closed loop), choosing endpoints by weight the
way a viewer, a browser and a searcher would. Clients are asyncio tasks in one process, so that
500 of them cost little of the 2 cores the server also needs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.server import latency_summary, served

EMBEDDER = {"CLIP_MODEL": "ViT-B-32", "CLIP_PRETRAINED": "", "CLIP_CHECKPOINT": ""}
# Searches are made of these words, so that most are different (a server caching popular
# queries would otherwise only be asked the same few).
WHO = ["someone", "a woman", "a man", "a child", "a detective", "a waiter", "two friends", "a crowd"]
DOES = ["checks a wristwatch", "waits", "runs", "looks at a clock", "reads a letter", "sleeps", "argues"]
WHERE = ["at a train station", "in an office", "in a kitchen", "on a rainy street", "in a bedroom",
         "in a clock tower", "at an airport", "in a classroom", "in a bar", "on a rooftop"]  # fmt: skip
WHEN = ["at night", "at dawn", "in the afternoon", "in the snow", "at noon", "before midnight"]


def _query(rng: random.Random) -> str:
    return " ".join(rng.choice(words) for words in (WHO, DOES, WHERE, WHEN))


def _minute(rng: random.Random) -> str:
    return f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"


# (group, weight, path maker): the live clock polls /api/now and loads the page; browsing reads
# the coverage and minutes; searching embeds a text query.
ENDPOINTS = [
    ("live", 45, lambda rng: f"/api/now?tz={rng.choice(['Europe/Paris', 'America/New_York', 'Asia/Tokyo'])}"),
    ("live", 5, lambda rng: "/"),
    ("browse", 10, lambda rng: "/api/minutes/"),
    ("browse", 15, lambda rng: f"/minutes/{_minute(rng)}/"),
    ("browse", 10, lambda rng: f"/api/snippets/?minute={_minute(rng)}"),
    ("search", 15, lambda rng: "/api/search?" + urllib.parse.urlencode({"q": _query(rng), "page_size": 20})),
]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"live": [], "browse": [], "search": []})
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; its status, and whether the connection stays open."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length, chunked, keep = None, False, True
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            keep = False
    if chunked:
        while size := int((await reader.readline()).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readline()
    elif length is not None:
        await reader.readexactly(length)
    else:
        await reader.read()
        keep = False
    return status, keep


async def _client(host: str, port: int, deadline: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    groups = [group for group, _, _ in ENDPOINTS]
    makers = [make for _, _, make in ENDPOINTS]
    weights = [weight for _, weight, _ in ENDPOINTS]
    reader = writer = None
    while time.monotonic() < deadline:
        index = rng.choices(range(len(ENDPOINTS)), weights)[0]
        path = makers[index](rng)
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n".encode())
            status, keep = await asyncio.wait_for(_read_response(reader), 60)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError) as error:
            tally.error(type(error).__name__)
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.1)
            continue
        if status != 200:
            tally.error(f"HTTP {status}")
        else:
            tally.latencies[groups[index]].append(time.perf_counter() - started)
        if not keep:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def _load(base: str, concurrency: int, duration: float) -> tuple[Tally, float]:
    parts = urllib.parse.urlsplit(base)
    tally = Tally()
    started = time.monotonic()
    deadline = started + duration
    await asyncio.gather(*(_client(parts.hostname, parts.port, deadline, tally, seed) for seed in range(concurrency)))
    return tally, time.monotonic() - started


def _warm_up(base: str, web_workers: int) -> None:
    """Each gunicorn worker loads the embedder on its first search: do that before timing."""
    from concurrent.futures import ThreadPoolExecutor

    url = base + "/api/search?q=warm+up"
    with ThreadPoolExecutor(web_workers * 2) as pool:
        list(pool.map(lambda _: urllib.request.urlopen(url, timeout=120).read(), range(web_workers * 4)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="load this server instead of starting one")
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--web-workers", type=int, default=4, help="as `serve` runs by default (WEB_WORKERS)")
    parser.add_argument("--scenes", type=int, default=20_000, help="scene vectors to search")
    args = parser.parse_args()

    def run(base: str) -> dict[str, object]:
        _warm_up(base, args.web_workers)
        tally, elapsed = asyncio.run(_load(base, args.concurrency, args.duration))
        everything = [latency for group in tally.latencies.values() for latency in group]
        return {
            "errors": sum(tally.errors.values()),
            "error_kinds": tally.errors,
            **latency_summary(everything, elapsed),
            "groups": {group: latency_summary(latencies, elapsed) for group, latencies in tally.latencies.items()},
        }

    result: dict[str, object] = {"benchmark": "load", "concurrency": args.concurrency, "duration_s": args.duration,
                                 "cpus": os.cpu_count()}  # fmt: skip
    if args.url:
        result.update(run(args.url))
    else:
        seed = (
            "from bench.seed import seed_every_minute, seed_scenes; from catalog.ml import scene_embedder;"
            f"seed_every_minute(2); seed_scenes({args.scenes}, scene_embedder().name)"
        )
        # Rate limits guard the public site from one greedy client; this benchmark is that client.
        env = {**EMBEDDER, "SEARCH_RATE": "1000000/min", "INGEST_RATE": "1000000/min"}
        with served(seed=seed, web_workers=args.web_workers, env=env) as base:
            result.update(
                {"web_workers": args.web_workers, "scenes": args.scenes, "embedder": "ViT-B-32 (random init)"}
            )
            result.update(run(base))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
