"""bench/search.py at a tiny size: it runs end to end on its own database and reports what it should.
Asserts behaviour, never time."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    data_dir = tmp_path_factory.mktemp("bench-search")
    # Nothing of this session may point the bench at another database or change its settings.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SEARCH_EF_SEARCH"} and not key.startswith("CLOCKWEB_")
    }
    command = [sys.executable, "bench/search.py", "--vectors", "3000", "--queries", "20", "--filtered-queries", "20",
               "--ef-search", "40,200", "--data-dir", str(data_dir), "--embed-model", "clockweb-tiny-clip",
               "--embed-batch", "4", "--embed-rounds", "1"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout[-2000:]
    return {"json": json.loads(lines[0]), "data_dir": data_dir}


def test_it_prints_one_object_with_every_section(report):
    result = report["json"]
    for section in ("data", "load", "index", "unfiltered", "headline", "filtered", "embedding", "targets"):
        assert section in result, section
    assert result["data"]["n"] == 3000
    assert result["data"]["synthetic"] is True
    assert result["index"]["build_seconds"] > 0
    assert result["index"]["index_mb"] > 0
    assert result["index"]["peak_server_rss_mb"] > 0
    default = settings.SEARCH_EF_SEARCH
    assert result["headline"]["ef_search"] == default  # the settings' default joins the sweep
    assert set(result["unfiltered"]) == {"40", "200", str(default)}


def test_it_keeps_its_rows_in_its_own_data_directory(report):
    assert (report["data_dir"] / "postgres" / "PG_VERSION").exists()
    assert (report["data_dir"] / "bench-search.json").exists()


def test_filtered_queries_fill_k(report):
    filtered = report["json"]["filtered"]
    assert filtered["10%"]["selectivity"] == pytest.approx(0.10, abs=0.005)
    assert filtered["1%"]["selectivity"] == pytest.approx(0.01, abs=0.001)
    for group in filtered.values():
        assert group["filled"] == group["of"] == 20
        assert group["recall_at_10"] >= 0.9
    assert report["json"]["targets"]["filtered_fill_k"] is True


def test_recall_at_the_largest_ef_search_is_near_exact(report):
    assert report["json"]["unfiltered"]["400"]["recall_at_10"] >= 0.9


def test_it_measures_the_embedding_pipeline_against_a_bare_forward_pass(report):
    embedding = report["json"]["embedding"]
    assert embedding["batch"] == 4
    assert embedding["bare_images_per_s"] > 0
    assert embedding["pipeline_images_per_s"] > 0
    ratio = embedding["pipeline_images_per_s"] / embedding["bare_images_per_s"]
    assert embedding["ratio"] == pytest.approx(ratio, rel=0.01)


def test_it_measures_the_offline_embedder_beside_clip(report):
    offline = report["json"]["offline_embedding"]
    assert offline["model"] == "efficientnet-lite0/imagenet"
    assert offline["embed_images_per_s"] > 0
    assert offline["coco_objects"] == "NanoDet-m"  # make installs it
    assert 0 < offline["embed_and_tag_images_per_s"] < offline["embed_images_per_s"]
