"""Scene search at scale (issue 6): recall@10 against exact search, query time, filtered queries,
the HNSW index build, and CLIP embedding throughput. Prints one JSON object; progress goes to stderr.

Targets, on 2 CPU cores with the embedded database: recall@10 >= 0.95 at 1,000,000 vectors; p95
query time <= 30 ms; filtered queries at 10% and 1% selectivity always fill k=10; the index build
time and memory reported; embedding throughput >= 0.7 of a bare forward pass at the same batch size.

The data is synthetic and says so in the output. Two distributions (--distribution):
- `scenes` (the default) is shaped like CLIP frame embeddings: every vector shares one mean
  direction (CLIP's image embeddings sit in a narrow cone: unrelated frames are at a cosine of about
  0.4), belongs to one of TOPICS topics (about 0.55 within a topic) and one of SCENES scenes
  (twenty-odd frames of a shot, about 0.92 to each other).
- `clusters` is a stress case: CLUSTERS unrelated random directions (cosine about 0 across them)
  with noise around each (about 0.72 within). Isolated clusters are the worst case for an HNSW graph
  built with m=16, ef_construction=64: its neighbour links stay inside clusters.
The rows go into the real `catalog_sceneembedding` table, with its
real HNSW index, spread over bench videos with one frame per second and one shot per frame (the
search keeps one result per shot). 10% of the videos match a duration filter; a random 1% of the
rows carry a bench tag. Queries go through the real code path, `catalog.selectors.scene_search`.

The bench owns its own embedded database (`var/bench-search/` unless --data-dir) and keeps the loaded
rows between runs: a second run with the same --vectors and --seed skips the load and the index build
and reports the build figures stored by the run that measured them; --rebuild loads and builds again.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import struct
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIMS = 512
CLUSTERS = 2000  # the `clusters` distribution
CENTRE_COSINE = 0.85  # the noise is chosen so that a vector's mean cosine to its cluster centre is about this
NOISE_SIGMA = math.sqrt((1 / CENTRE_COSINE**2 - 1) / DIMS)  # per coordinate, before normalizing
TOPICS, SCENES = 100, 50_000  # the `scenes` distribution
# Squared weights of the shared, topic and scene directions: the cosines between unrelated frames,
# and within a topic, come out at about 0.40 and 0.55.
MEAN_SHARE, TOPIC_SHARE = 0.40, 0.15
FRAME_COSINE = 0.96  # a frame's cosine to its scene (so about 0.92 between two frames of a scene)
FRAME_SIGMA = math.sqrt((1 / FRAME_COSINE**2 - 1) / DIMS)
CHUNK = 50_000  # rows generated (and copied) at a time; the data depends on it, so it is fixed
MODEL_NAME = "bench-search/synthetic-clusters"
EXTRACTOR = "bench-search"
TAG = "bench-one-percent"
INDEX = "embedding_hnsw_cosine"
TABLE = "catalog_sceneembedding"
K = 10
MAINTENANCE_WORK_MEM = "4GB"
PARALLEL_WORKERS = 1  # the leader builds too: two processes on two cores
STATE_FILE = "bench-search.json"  # next to the database: what is loaded, and the figures of the run that loaded it


def log(message: str) -> None:
    print(f"[search {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- data ----------------------------------------------------------------------------------


class Layout:
    """Where row i lives: video i // per_video, at second i % per_video (one shot per second)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.per_video = min(1000, max(10, n // 100))
        self.videos = math.ceil(n / self.per_video)
        self.short_videos = max(1, round(self.videos / 10))  # the 10% that match the duration filter
        self.max_duration = 1.5 * self.per_video  # the filter: short videos last per_video s, the others twice that


def centres(seed: int, distribution: str) -> tuple[np.ndarray, float]:
    """The directions vectors are drawn around, and the noise per coordinate."""
    rng = np.random.default_rng([seed, 0])

    def unit(rows: int) -> np.ndarray:
        out = rng.standard_normal((rows, DIMS), dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    if distribution == "clusters":
        return unit(CLUSTERS), NOISE_SIGMA
    mean, topics, own = unit(1), unit(TOPICS), unit(SCENES)
    topic_of = rng.integers(0, TOPICS, SCENES)
    scenes = (math.sqrt(MEAN_SHARE) * mean + math.sqrt(TOPIC_SHARE) * topics[topic_of]
              + math.sqrt(1 - MEAN_SHARE - TOPIC_SHARE) * own)  # fmt: skip
    return scenes / np.linalg.norm(scenes, axis=1, keepdims=True), FRAME_SIGMA


def sample(rng: np.random.Generator, centre: np.ndarray, sigma: float, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (float32) around random centres, and their centres."""
    labels = rng.integers(0, len(centre), count)
    vectors = centre[labels] + sigma * rng.standard_normal((count, DIMS), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), labels


def generate(n: int, seed: int, distribution: str) -> tuple[np.ndarray, float]:
    """All n vectors as stored (float16, as halfvec keeps them), and their mean cosine to their centre."""
    centre, sigma = centres(seed, distribution)
    data = np.empty((n, DIMS), np.float16)
    cosines = []
    for index, start in enumerate(range(0, n, CHUNK)):
        vectors, labels = sample(np.random.default_rng([seed, 1, index]), centre, sigma, min(CHUNK, n - start))
        data[start : start + len(vectors)] = vectors
        cosines.append(float(np.mean(np.einsum("ij,ij->i", vectors[:2000], centre[labels[:2000]]))))
    return data, float(np.mean(cosines))


def queries(count: int, seed: int, distribution: str) -> np.ndarray:
    """Fresh samples of the same distribution (not stored rows)."""
    centre, sigma = centres(seed, distribution)
    vectors, _ = sample(np.random.default_rng([seed, 2]), centre, sigma, count)
    return vectors


def describe(distribution: str) -> str:
    if distribution == "clusters":
        return (
            f"{CLUSTERS} random unit centres; each vector = centre + N(0, sigma^2 I), normalized, stored as "
            "halfvec; cluster independent of video"
        )
    return (
        f"CLIP-like: a shared mean direction (weight^2 {MEAN_SHARE}), {TOPICS} topics (weight^2 {TOPIC_SHARE}) "
        f"and {SCENES:,} scenes; each vector = its scene + N(0, sigma^2 I), normalized, stored as halfvec; "
        "scene independent of video"
    )


def as_stored(vectors: np.ndarray) -> np.ndarray:
    """What cosine distance sees: rounded to float16 like a halfvec, then normalized."""
    out = vectors.astype(np.float16).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def exact_top_k(data: np.ndarray, query: np.ndarray, mask: np.ndarray | None = None, k: int = K) -> np.ndarray:
    """The exact k nearest rows by cosine for each query (numpy, in chunks), best first."""
    best_scores = np.full((len(query), 0), -np.inf, np.float32)
    best_rows = np.zeros((len(query), 0), np.int64)
    for start in range(0, len(data), 200_000):
        block = as_stored(data[start : start + 200_000])
        scores = query @ block.T
        if mask is not None:
            scores[:, ~mask[start : start + len(block)]] = -np.inf
        take = min(k, scores.shape[1])
        top = np.argpartition(-scores, take - 1, axis=1)[:, :take]
        best_scores = np.concatenate([best_scores, np.take_along_axis(scores, top, axis=1)], axis=1)
        best_rows = np.concatenate([best_rows, top + start], axis=1)
        keep = np.argsort(-best_scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(best_scores, keep, axis=1)
        best_rows = np.take_along_axis(best_rows, keep, axis=1)
    return best_rows


# -- the database ----------------------------------------------------------------------------


def start_database(data_dir: Path) -> object:
    """Django on the bench's own embedded server, owned by this process, migrated."""
    if os.environ.pop("DATABASE_URL", None):
        log("ignoring DATABASE_URL: the bench runs on its own embedded database")
    os.environ["CLOCKWEB_VAR_DIR"] = str(data_dir.resolve())
    os.environ["DJANGO_SETTINGS_MODULE"] = "clockweb.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from clockweb.bootstrap import prepare_database

    server = prepare_database(own="required")
    call_command("migrate", interactive=False, verbosity=0)
    return server


def _scalar(sql: str, params: list | None = None) -> object:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        row = cursor.fetchone()
    return row[0] if row else None


def _execute(*statements: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def index_definition() -> str:
    """The HNSW index as the database has it, or (when a failed run left it dropped) as the model declares it."""
    from django.db import connection

    existing = _scalar("SELECT pg_get_indexdef(to_regclass(%s))", [INDEX])
    if existing:
        return existing
    from catalog.models import SceneEmbedding

    index = next(index for index in SceneEmbedding._meta.indexes if index.name == INDEX)
    with connection.schema_editor(collect_sql=True) as editor:
        return str(index.create_sql(SceneEmbedding, editor))


def _copy_records(layout: Layout, video_ids: np.ndarray, vectors: np.ndarray, start: int) -> bytes:
    """Rows start.. of PostgreSQL's binary COPY format, built as one numpy record array."""
    name = MODEL_NAME.encode()
    record = np.dtype([
        ("fields", ">i2"),
        ("video_length", ">i4"), ("video", ">i8"),
        ("second_length", ">i4"), ("second", ">f8"),
        ("model_length", ">i4"), ("model", f"S{len(name)}"),
        ("embedding_length", ">i4"), ("dimensions", ">u2"), ("unused", ">u2"), ("embedding", ">f2", (DIMS,)),
        ("thumbnail_length", ">i4"),
        ("created_length", ">i4"), ("created", ">i8"),
    ])  # fmt: skip
    rows = np.arange(start, start + len(vectors))
    out = np.empty(len(vectors), record)
    out["fields"] = 6
    out["video_length"], out["video"] = 8, video_ids[rows // layout.per_video]
    out["second_length"], out["second"] = 8, rows % layout.per_video
    out["model_length"], out["model"] = len(name), name
    out["embedding_length"], out["dimensions"], out["unused"], out["embedding"] = 4 + 2 * DIMS, DIMS, 0, vectors
    out["thumbnail_length"] = 0  # ''
    epoch = datetime(2000, 1, 1, tzinfo=UTC)  # timestamptz: microseconds since 2000-01-01
    out["created_length"], out["created"] = 8, int((datetime.now(UTC) - epoch).total_seconds() * 1_000_000)
    return out.tobytes()


def load(layout: Layout, data: np.ndarray, seed: int) -> dict[str, object]:
    """Replace the bench rows: videos, vectors (binary COPY with the HNSW index dropped), the 1% tag."""
    from django.db import connection, transaction

    from catalog.models import Concept, SceneEmbedding, Video

    timings: dict[str, object] = {}
    started = time.perf_counter()
    definition = index_definition()
    _execute(f"DROP INDEX IF EXISTS {INDEX}")
    if SceneEmbedding.objects.exclude(model_name=MODEL_NAME).exists():  # not only bench rows: just ours
        with connection.cursor() as cursor:
            ours = f"SELECT id FROM {TABLE} WHERE model_name = %s"
            cursor.execute(f"DELETE FROM catalog_frametag WHERE scene_id IN ({ours})", [MODEL_NAME])
            cursor.execute(f"DELETE FROM {TABLE} WHERE model_name = %s", [MODEL_NAME])
    else:
        _execute(f"TRUNCATE catalog_frametag, {TABLE}")
    Video.objects.filter(extractor=EXTRACTOR).delete()

    rng = np.random.default_rng([seed, 4])
    short = set(rng.choice(layout.videos, layout.short_videos, replace=False).tolist())
    boundaries = [second + 0.5 for second in range(layout.per_video - 1)]
    with transaction.atomic():
        videos = Video.objects.bulk_create(
            Video(
                extractor=EXTRACTOR, external_id=f"{index:07d}", title=f"Bench video {index}",
                status=Video.Status.SCANNED, shot_boundaries=boundaries,
                duration_seconds=float(layout.per_video * (1 if index in short else 2)),
            )
            for index in range(layout.videos)
        )  # fmt: skip
    video_ids = np.array([video.pk for video in videos], np.int64)

    copy_started = time.perf_counter()
    header = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
    columns = "video_id, second, model_name, embedding, thumbnail, created_at"
    connection.ensure_connection()
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY {TABLE} ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.write(header)
        for start in range(0, layout.n, CHUNK):
            copy.write(_copy_records(layout, video_ids, data[start : start + CHUNK], start))
            log(f"copied {min(start + CHUNK, layout.n):,} of {layout.n:,} rows")
        copy.write(struct.pack(">h", -1))
    timings["copy_seconds"] = round(time.perf_counter() - copy_started, 1)

    tag_started = time.perf_counter()
    concept, _ = Concept.objects.get_or_create(name=TAG, defaults={"prompt": "a bench tag on a random 1% of frames"})
    tagged = np.random.default_rng([seed, 3]).choice(layout.n, max(1, layout.n // 100), replace=False)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO catalog_frametag (scene_id, concept_id, score)"
            " SELECT e.id, %s, 0.5 FROM unnest(%s::bigint[], %s::float8[]) AS t(video_id, second)"
            f" JOIN {TABLE} e ON e.video_id = t.video_id AND e.second = t.second AND e.model_name = %s",
            [concept.pk, video_ids[tagged // layout.per_video].tolist(),
             (tagged % layout.per_video).astype(float).tolist(), MODEL_NAME],
        )  # fmt: skip
    timings["tag_seconds"] = round(time.perf_counter() - tag_started, 1)

    vacuum_started = time.perf_counter()
    _execute(f"VACUUM ANALYZE {TABLE}", "VACUUM ANALYZE catalog_frametag", "VACUUM ANALYZE catalog_video")
    timings["vacuum_analyze_seconds"] = round(time.perf_counter() - vacuum_started, 1)
    timings["seconds"] = round(time.perf_counter() - started, 1)
    timings["format"] = "binary COPY (one numpy record array per 50,000 rows), HNSW index dropped"
    log(f"loaded {layout.n:,} rows in {timings['seconds']} s")
    return {"load": timings, "definition": definition}


class ServerWatch(threading.Thread):
    """Samples the memory of the server's processes every `interval` s while the index builds, and
    logs the build's progress now and then."""

    def __init__(self, postmaster: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.postmaster = postmaster
        self.interval = interval
        self.peak_rss = self.peak_pss = 0
        self.baseline_rss = self.baseline_pss = 0
        self.processes = 0
        self._done = threading.Event()

    def sample(self) -> tuple[int, int]:
        import psutil

        rss = pss = 0
        try:
            root = psutil.Process(self.postmaster)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0, 0
        for process in processes:
            try:
                info = process.memory_full_info()
            except psutil.Error:
                continue
            rss += info.rss
            pss += info.pss
        self.processes = max(self.processes, len(processes))
        return rss, pss

    def run(self) -> None:
        import psycopg
        from django.conf import settings

        self.baseline_rss, self.baseline_pss = self.sample()
        params = settings.DATABASES["default"]
        progress = psycopg.connect(host=params["HOST"], user=params["USER"], dbname=params["NAME"], autocommit=True)
        last_report = time.monotonic()
        with progress:
            while not self._done.wait(self.interval):
                rss, pss = self.sample()
                self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
                if time.monotonic() - last_report > 30:
                    last_report = time.monotonic()
                    row = progress.execute(
                        "SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index"
                    ).fetchone()
                    if row:
                        log(f"index build: {row[0]}, {row[1]:,} tuples; server RSS {rss / 2**20:,.0f} MB")

    def stop(self) -> None:
        self._done.set()
        self.join()


def build_index(definition: str) -> dict[str, object]:
    from django.conf import settings

    from clockweb.embedded_postgres import EmbeddedPostgres

    server = EmbeddedPostgres(settings.EMBEDDED_PGDATA).running_server()
    watch = ServerWatch(server.pid)
    watch.start()
    time.sleep(1.0)  # a baseline sample before the build
    _execute(
        f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'",
        f"SET max_parallel_maintenance_workers = {PARALLEL_WORKERS}",
    )
    log(f"building the index: {definition}")
    started = time.perf_counter()
    try:
        _execute(definition)
    finally:
        seconds = time.perf_counter() - started
        watch.stop()
        _execute("RESET maintenance_work_mem", "RESET max_parallel_maintenance_workers")
    log(f"index built in {seconds:.0f} s")
    return {
        "build_seconds": round(seconds, 1),
        "peak_server_rss_mb": round(watch.peak_rss / 2**20),
        "peak_server_pss_mb": round(watch.peak_pss / 2**20),
        "server_rss_before_mb": round(watch.baseline_rss / 2**20),
        "memory_note": "summed over the postmaster and its children, sampled every 0.5 s; RSS counts shared "
        "memory once per process that touched it, PSS splits it between them",
        "server_processes": watch.processes,
        "maintenance_work_mem": MAINTENANCE_WORK_MEM,
        "max_parallel_maintenance_workers": PARALLEL_WORKERS,
        "definition": definition,
    }


def relation_sizes() -> dict[str, float]:
    mb = 2**20
    return {
        "index_mb": round(_scalar("SELECT pg_relation_size(%s::regclass)", [INDEX]) / mb, 1),
        "table_mb": round(_scalar("SELECT pg_relation_size(%s::regclass)", [TABLE]) / mb, 1),
        "table_with_all_indexes_mb": round(_scalar("SELECT pg_total_relation_size(%s::regclass)", [TABLE]) / mb, 1),
    }


def warm_cache() -> float:
    """Read the table's and the index's files, so that they sit in the OS page cache (what
    pg_prewarm's 'read' mode does; the embedded server ships without pg_prewarm)."""
    from django.conf import settings

    read = 0
    for relation in (TABLE, INDEX):
        path = Path(settings.EMBEDDED_PGDATA) / _scalar("SELECT pg_relation_filepath(%s::regclass)", [relation])
        for segment in [path, *sorted(path.parent.glob(f"{path.name}.[0-9]*"))]:
            with segment.open("rb") as handle:
                while block := handle.read(16 * 2**20):
                    read += len(block)
    return read / 2**20


# -- queries ---------------------------------------------------------------------------------


class Rows:
    """Maps a search hit back to its row number in the generated data."""

    def __init__(self, layout: Layout) -> None:
        from catalog.models import Video

        self.layout = layout
        self.video_index = {
            pk: int(external_id)
            for pk, external_id in Video.objects.filter(extractor=EXTRACTOR).values_list("pk", "external_id")
        }

    def of(self, scene: object) -> int:
        return self.video_index[scene.video_id] * self.layout.per_video + int(scene.second)

    def short_mask(self) -> np.ndarray:
        from catalog.models import Video

        short = Video.objects.filter(extractor=EXTRACTOR, duration_seconds__lte=self.layout.max_duration)
        mask = np.zeros(self.layout.n, bool)
        for external_id in short.values_list("external_id", flat=True):
            start = int(external_id) * self.layout.per_video
            mask[start : start + self.layout.per_video] = True
        return mask

    def tag_mask(self) -> np.ndarray:
        from catalog.models import FrameTag

        mask = np.zeros(self.layout.n, bool)
        for video_id, second in FrameTag.objects.filter(concept__name=TAG).values_list(
            "scene__video_id", "scene__second"
        ):
            mask[self.video_index[video_id] * self.layout.per_video + int(second)] = True
        return mask


def run_queries(query: np.ndarray, truth: np.ndarray, rows: Rows, filters: object = None) -> dict[str, object]:
    """Each query through scene_search, timed around the call; recall@10 against `truth`."""
    from catalog.selectors import scene_search

    times, recalls, filled = [], [], 0
    for vector, exact in zip(query, truth, strict=True):
        as_list = vector.tolist()
        started = time.perf_counter()
        hits = scene_search(vector=as_list, model_name=MODEL_NAME, filters=filters, limit=K)
        times.append(time.perf_counter() - started)
        filled += len(hits) == K
        recalls.append(len({rows.of(hit.scene) for hit in hits} & set(exact.tolist())) / K)
    ordered = np.array(times) * 1000
    return {
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "min_recall_at_10": round(float(np.min(recalls)), 2),
        "p50_ms": round(float(np.percentile(ordered, 50)), 2),
        "p95_ms": round(float(np.percentile(ordered, 95)), 2),
        "max_ms": round(float(np.max(ordered)), 2),
        "filled": filled,
        "of": len(query),
    }


def index_only(query: np.ndarray, ef_search: int, fetch: int) -> dict[str, float]:
    """The same index scan as raw SQL, for comparison: in a transaction, the two SET LOCALs and
    `SELECT id ... ORDER BY embedding <=> q LIMIT fetch`, without the ORM, the joins or loading rows."""
    from django.db import connection, transaction

    times = []
    for vector in query:
        literal = "[" + ",".join(f"{value:.6g}" for value in vector.tolist()) + "]"
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            cursor.execute("SET LOCAL hnsw.ef_search = %s", [ef_search])
            cursor.execute(
                f"SELECT id FROM {TABLE} WHERE model_name = %s ORDER BY embedding <=> %s::halfvec LIMIT %s",
                [MODEL_NAME, literal, fetch],
            )
            cursor.fetchall()
        times.append(time.perf_counter() - started)
    ordered = np.array(times) * 1000
    return {"p50_ms": round(float(np.percentile(ordered, 50)), 2),
            "p95_ms": round(float(np.percentile(ordered, 95)), 2)}  # fmt: skip


def diagnose(vector: np.ndarray, filters: object = None, samples: list[np.ndarray] = ()) -> dict[str, object]:
    """What one search sends to the database: how many SELECTs (2 = the exact fallback ran), whether
    the first one uses the HNSW index, and its server-side time (EXPLAIN ANALYZE)."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from catalog.selectors import scene_search

    fallbacks = 0
    for other in samples:
        with CaptureQueriesContext(connection) as captured:
            scene_search(vector=other.tolist(), model_name=MODEL_NAME, filters=filters, limit=K)
        fallbacks += sum(query["sql"].lstrip().upper().startswith("SELECT") for query in captured) > 1
    with CaptureQueriesContext(connection) as captured:
        scene_search(vector=vector.tolist(), model_name=MODEL_NAME, filters=filters, limit=K)
    selects = [query["sql"] for query in captured if query["sql"].lstrip().upper().startswith("SELECT")]
    sets = [query["sql"] for query in captured if query["sql"].lstrip().upper().startswith("SET")]
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in sets:
            cursor.execute(statement)
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + selects[0])
        plan = cursor.fetchone()[0]
    plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
    return {
        "selects_per_search": len(selects),
        "exact_fallbacks": f"{fallbacks} of {len(samples)}",
        "uses_hnsw_index": INDEX in json.dumps(plan["Plan"]),
        "top_plan_nodes": _plan_nodes(plan["Plan"]),
        "server_execution_ms": round(plan["Execution Time"], 2),
        "ef_search": settings.SEARCH_EF_SEARCH,
    }


def _plan_nodes(node: dict, depth: int = 0) -> list[str]:
    label = node["Node Type"] + (f" on {node['Index Name']}" if "Index Name" in node else "")
    out = [("  " * depth) + label]
    for child in node.get("Plans", [])[:3]:
        out += _plan_nodes(child, depth + 1)
    return out[:8]


# -- embedding -------------------------------------------------------------------------------


def embedding_throughput(model: str, batch: int, rounds: int) -> dict[str, object]:
    """images/s of a bare forward pass (encode_image on an already prepared tensor) against the
    pipeline's embed_images on the same 640x360 RGB frames (resize, crop, normalize, forward)."""
    import torch

    from pipeline.search.embedder import ClipEmbedder, EmbedderSpec

    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (360, 640, 3), np.uint8) for _ in range(batch)]
    devices = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    out: dict[str, object] = {"model": f"{model} (random init: speed does not depend on the weights)",
                              "batch": batch, "rounds": rounds, "frame_size": "640x360",
                              "torch_threads": torch.get_num_threads()}  # fmt: skip
    for device in devices:
        embedder = ClipEmbedder(EmbedderSpec(model, None), device=device, batch_size=batch)
        dtype = next(embedder.model.parameters()).dtype
        prepared = torch.from_numpy(np.stack([embedder._prepare(frame) for frame in frames])).to(device, dtype=dtype)

        def bare(embedder: ClipEmbedder = embedder, prepared: torch.Tensor = prepared, device: str = device) -> None:
            with torch.no_grad():
                embedder.model.encode_image(prepared)
            if device == "cuda":
                torch.cuda.synchronize()

        def pipeline(embedder: ClipEmbedder = embedder) -> None:
            embedder.embed_images(frames)

        bare()  # warm up
        pipeline()
        spent = {"bare": 0.0, "pipeline": 0.0}
        for round_ in range(rounds):  # interleaved, so that drift hits both alike
            for name, run in (("bare", bare), ("pipeline", pipeline)):
                started = time.perf_counter()
                run()
                spent[name] += time.perf_counter() - started
            log(f"embedding on {device}: round {round_ + 1} of {rounds}")
        bare_rate = batch * rounds / spent["bare"]
        pipeline_rate = batch * rounds / spent["pipeline"]
        out[device] = {
            "bare_images_per_s": round(bare_rate, 2),
            "pipeline_images_per_s": round(pipeline_rate, 2),
            "ratio": round(pipeline_rate / bare_rate, 3),
            "precision": str(dtype).removeprefix("torch."),
        }
    out.update(out[devices[-1]])
    out["device"] = devices[-1]
    return out


def offline_embedding_throughput(batch: int, rounds: int, nanodet_weights: str | None) -> dict[str, object]:
    """images/s of the offline embedder (ImageNet EfficientNet-Lite0: vectors and class
    probabilities in one pass) on the same 640x360 frames, and with the COCO objects of the
    offline tags (NanoDet-m) added, as the search stage runs them."""
    import torch

    from pipeline.scan import nanodet
    from pipeline.search.imagenet import IMAGENET_EMBEDDER, ImageNetEmbedder

    rng = np.random.default_rng(2)
    frames = [rng.integers(0, 256, (360, 640, 3), np.uint8) for _ in range(batch)]
    devices = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    with_objects = bool(nanodet_weights) and nanodet.is_installed(nanodet_weights)
    out: dict[str, object] = {"model": IMAGENET_EMBEDDER, "batch": batch, "rounds": rounds, "frame_size": "640x360",
                              "coco_objects": "NanoDet-m" if with_objects else "not installed",
                              "torch_threads": torch.get_num_threads()}  # fmt: skip
    for device in devices:
        embedder = ImageNetEmbedder(device=device, batch_size=batch)
        detector = nanodet.NanoDetDetector(nanodet_weights, device=device) if with_objects else None
        embedder.analyse(frames)  # warm up
        spent = {"embed": 0.0, "objects": 0.0}
        for round_ in range(rounds):
            started = time.perf_counter()
            embedder.analyse(frames)
            spent["embed"] += time.perf_counter() - started
            if detector is not None:
                started = time.perf_counter()
                detector.detect(frames)
                spent["objects"] += time.perf_counter() - started
            log(f"offline embedding on {device}: round {round_ + 1} of {rounds}")
        figures = {"embed_images_per_s": round(batch * rounds / spent["embed"], 2)}
        if detector is not None:
            figures["embed_and_tag_images_per_s"] = round(batch * rounds / (spent["embed"] + spent["objects"]), 2)
        out[device] = figures
    out.update(out[devices[-1]])
    out["device"] = devices[-1]
    return out


# -- main ------------------------------------------------------------------------------------


def _int_list(raw: str) -> list[int]:
    return [int(item) for item in raw.split(",") if item.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="unfiltered queries per ef_search value")
    parser.add_argument("--filtered-queries", type=int, default=100, help="queries per filter")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "bench-search")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--distribution", choices=["scenes", "clusters"], default="scenes",
                        help="CLIP-like scenes (default), or isolated clusters (a stress case)")  # fmt: skip
    parser.add_argument("--rebuild", action="store_true", help="load the rows and build the index again")
    parser.add_argument("--ef-search", type=_int_list, default=[40, 64, 100, 200], metavar="LIST",
                        help="comma-separated hnsw.ef_search values (the settings' default is added)")  # fmt: skip
    parser.add_argument("--skip-embedding", action="store_true")
    parser.add_argument("--embed-model", default="ViT-B-32")
    parser.add_argument("--embed-batch", type=int, default=32)
    parser.add_argument("--embed-rounds", type=int, default=5)
    args = parser.parse_args()
    if args.vectors < 1000:
        parser.error("--vectors must be at least 1000")

    phases: dict[str, float] = {}
    load_average: dict[str, float] = {}
    clock = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = round(phases.get(name, 0.0) + now - clock, 1)
        load_average[name] = round(os.getloadavg()[0], 2)  # others at work on the machine skew the figures
        clock = now

    start_database(args.data_dir)
    from django.conf import settings

    import catalog.selectors  # noqa: F401 - loaded now: the search code measured is the code as the run started

    phase("start_database")
    layout = Layout(args.vectors)
    log(f"generating {layout.n:,} vectors ({describe(args.distribution)})")
    data, centre_cosine = generate(layout.n, args.seed, args.distribution)
    phase("generate")

    state_path = Path(settings.VAR_DIR) / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    wanted = {"n": layout.n, "seed": args.seed, "dims": DIMS, "distribution": describe(args.distribution),
              "per_video": layout.per_video, "chunk": CHUNK, "model_name": MODEL_NAME}  # fmt: skip
    stored = _scalar(f"SELECT count(*) FROM {TABLE} WHERE model_name = %s", [MODEL_NAME])
    has_index = _scalar("SELECT to_regclass(%s) IS NOT NULL", [INDEX])
    reuse = not args.rebuild and state.get("data") == wanted and stored == layout.n and has_index
    if reuse:
        log(f"reusing the {stored:,} rows and the index loaded by the run of {state['run']}")
    else:
        state = {"data": wanted, "run": datetime.now(UTC).isoformat(timespec="seconds")}
        state_path.unlink(missing_ok=True)
        loaded = load(layout, data, args.seed)
        state["load"] = loaded["load"]
        phase("load")
        state["index"] = build_index(loaded["definition"])
        phase("index_build")
        state_path.write_text(json.dumps(state, indent=2))
    this_run = {"measured_in_run": state["run"], "this_run": not reuse}
    index = {**state["index"], **relation_sizes(), **this_run}

    rows = Rows(layout)
    check = np.random.default_rng(0).choice(layout.n, 3, replace=False)
    from catalog.models import SceneEmbedding, Video

    for row in check:  # the COPY wrote what was generated, where Rows says
        video = Video.objects.get(extractor=EXTRACTOR, external_id=f"{row // layout.per_video:07d}")
        scene = SceneEmbedding.objects.get(video=video, second=row % layout.per_video, model_name=MODEL_NAME)
        assert np.array_equal(np.asarray(scene.vector, np.float16), data[row]), f"row {row} differs"

    query = queries(max(args.queries, args.filtered_queries), args.seed, args.distribution)
    query_stored = as_stored(query)
    short, tagged = rows.short_mask(), rows.tag_mask()
    log("exact top-10 in numpy")
    truth = exact_top_k(data, query_stored)
    filtered_count = args.filtered_queries
    truth_short = exact_top_k(data, query_stored[:filtered_count], short)
    truth_tagged = exact_top_k(data, query_stored[:filtered_count], tagged)
    phase("ground_truth")

    warm_mb = warm_cache()
    from catalog.selectors import SceneFilters

    warm_queries = queries(300, args.seed + 1, args.distribution)
    default_ef = settings.SEARCH_EF_SEARCH
    settings.SEARCH_EF_SEARCH = max([*args.ef_search, default_ef])
    warm_started = time.perf_counter()
    from catalog.selectors import scene_search

    for vector in warm_queries:
        scene_search(vector=vector.tolist(), model_name=MODEL_NAME, limit=K)
    for vector in warm_queries[:50]:
        scene_search(vector=vector.tolist(), model_name=MODEL_NAME, filters=SceneFilters(tag=TAG), limit=K)
        scene_search(vector=vector.tolist(), model_name=MODEL_NAME,
                     filters=SceneFilters(max_duration=layout.max_duration), limit=K)  # fmt: skip
    warmup = (f"read the table's and the index's files ({warm_mb:,.0f} MB) into the OS page cache (no pg_prewarm "
              f"in the embedded server), then {len(warm_queries)} unfiltered and 2x50 filtered untimed queries "
              f"at ef_search {settings.SEARCH_EF_SEARCH} ({time.perf_counter() - warm_started:.1f} s)")  # fmt: skip
    phase("warm_up")

    fetch = K * 4 + 16  # what scene_search asks the index for, for one page of K (it sets ef_search to at least that)
    unfiltered = {}
    for ef in sorted({*args.ef_search, default_ef}):
        settings.SEARCH_EF_SEARCH = ef
        effective = max(ef, min(1000, fetch))
        unfiltered[str(ef)] = {
            "effective_ef_search": effective,
            **run_queries(query[: args.queries], truth[: args.queries], rows),
            "index_only": index_only(query[: args.queries], effective, fetch),
        }
        log(f"ef_search {ef}: {unfiltered[str(ef)]}")
    settings.SEARCH_EF_SEARCH = default_ef
    phase("unfiltered_queries")

    by_duration = SceneFilters(max_duration=layout.max_duration)
    by_tag = SceneFilters(tag=TAG)
    filtered = {
        "10%": {"filter": f"max_duration={layout.max_duration:g} (video duration)",
                "matching_rows": int(short.sum()), "selectivity": round(float(short.mean()), 4),
                **run_queries(query[:filtered_count], truth_short, rows, by_duration)},
        "1%": {"filter": f"tag={TAG}", "matching_rows": int(tagged.sum()),
               "selectivity": round(float(tagged.mean()), 4),
               **run_queries(query[:filtered_count], truth_tagged, rows, by_tag)},
    }  # fmt: skip
    log(f"filtered: {filtered}")
    phase("filtered_queries")

    samples = list(query[1:11])
    diagnostics = {
        "unfiltered": diagnose(query[0], None, samples),
        "10%": diagnose(query[0], by_duration, samples),
        "1%": diagnose(query[0], by_tag, samples),
    }
    phase("diagnostics")

    embedding = offline_embedding = None
    if not args.skip_embedding:
        log(f"embedding throughput: {args.embed_model}, batch {args.embed_batch}")
        embedding = embedding_throughput(args.embed_model, args.embed_batch, args.embed_rounds)
        phase("embedding")
        log(f"offline embedding throughput: batch {args.embed_batch}")
        from django.conf import settings as django_settings

        offline_embedding = offline_embedding_throughput(args.embed_batch, args.embed_rounds,
                                                         django_settings.NANODET_WEIGHTS)  # fmt: skip
        phase("offline_embedding")

    headline = {"ef_search": default_ef, **unfiltered[str(default_ef)]}
    meeting = [
        int(ef) for ef, figures in unfiltered.items() if figures["recall_at_10"] >= 0.95 and figures["p95_ms"] <= 30
    ]
    targets = {
        "recall_at_10_at_least_0.95": headline["recall_at_10"] >= 0.95,
        "p95_at_most_30_ms": headline["p95_ms"] <= 30,
        "filtered_fill_k": all(group["filled"] == group["of"] for group in filtered.values()),
        "index_build_reported": index.get("build_seconds") is not None,
        "embedding_ratio_at_least_0.7": None if embedding is None else embedding["ratio"] >= 0.7,
        "measured_at_vectors": layout.n,
        "ef_search_values_meeting_recall_and_p95": meeting,
    }
    print(json.dumps({
        "benchmark": "search", "cpus": os.cpu_count(),
        "postgres": {"server": _scalar("SHOW server_version"),
                     "pgvector": _scalar("SELECT extversion FROM pg_extension WHERE extname = 'vector'"),
                     "shared_buffers": _scalar("SHOW shared_buffers"), "embedded": True},
        "data": {"n": layout.n, "dims": DIMS, "seed": args.seed, "synthetic": True,
                 "distribution": args.distribution, "description": describe(args.distribution),
                 "mean_cosine_to_centre": round(centre_cosine, 4), "videos": layout.videos,
                 "rows_per_video": layout.per_video, "shots": "one per frame (each second its own shot)",
                 "model_name": MODEL_NAME},
        "load": {**state["load"], **this_run},
        "index": index,
        "warm_up": warmup,
        "queries": {"unfiltered": args.queries, "filtered": filtered_count, "k": K,
                    "path": "catalog.selectors.scene_search, timed around the call (ORM included)",
                    "effective_ef_search": f"max(ef_search, {fetch}): scene_search fetches {fetch} rows for k={K}",
                    "vectors": "fresh samples of the same distribution, not stored rows",
                    "index_only": "the same SET LOCALs and index scan as raw SQL (SELECT id ... LIMIT "
                                  f"{fetch}), without the ORM, the joins or loading rows: what the index costs",
                    "truth": "exact top-10 by cosine in numpy over the vectors as stored (float16)"},
        "unfiltered": unfiltered,
        "headline": headline,
        "filtered": filtered,
        "diagnostics": diagnostics,
        "embedding": embedding,
        "offline_embedding": offline_embedding,
        "targets": targets,
        "phase_seconds": phases,
        "load_average_1m_at_phase_end": load_average,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
