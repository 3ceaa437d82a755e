"""Offline concept search on real photographs: how well words for clocks ("clock", "wall clock",
"timepiece", ...) find real clocks among real clockless photographs, with no CLIP and no download.

The photographs: the real clock photos of the reader's validation split (../shared/data/real-clocks,
shlezman and ermu03, never trained on by anything here) and the held-out fifth of the clockless
COCO photographs (../shared/data/backgrounds-coco). Each is tagged as the search stage tags a
keyframe (ImageNet EfficientNet-Lite0 classes + COCO objects from NanoDet-m, the same thresholds),
and ranked for each query as /api/search ranks scenes offline (pipeline.search.concepts matches
the words; 1 - the product of the matched tags' misses). Prints one JSON object: per query, the
precision among the first 10, 25 and 50, and the recall and precision of "any matched tag".

    python bench/offline_concepts.py [--clocks 100] [--clockless 100] [--seed 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clockweb.settings")
SHARED = ROOT.parent / "shared" / "data"
QUERIES = ("clock", "wall clock", "timepiece", "a clock on a wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clocks", type=int, default=100)
    parser.add_argument("--clockless", type=int, default=100)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np
    from django.conf import settings

    from pipeline.coco import COCO_NAMES
    from pipeline.images import load_rgb
    from pipeline.scan import nanodet
    from pipeline.search.concepts import IMAGENET, vocabulary
    from pipeline.search.imagenet import ImageNetEmbedder
    from pipeline.search.tagging import concept_relevance, offline_tags
    from pipeline.synth.hand_training import background_files
    from pipeline.synth.real_clocks import real_clocks

    rng = np.random.default_rng(args.seed)
    clocks = [clock for clock in real_clocks(SHARED / "real-clocks")
              if clock.split == "validation" and clock.source in ("shlezman", "ermu03")]  # fmt: skip
    clocks = [clocks[index] for index in sorted(rng.choice(len(clocks), min(args.clocks, len(clocks)), replace=False))]
    clockless = background_files(SHARED / "backgrounds-coco", validation=True)
    clockless = [clockless[index] for index in sorted(rng.choice(len(clockless), min(args.clockless, len(clockless)),
                                                                 replace=False))]  # fmt: skip

    images = [load_rgb(clock.path) for clock in clocks] + [load_rgb(path) for path in clockless]
    truth = np.array([True] * len(clocks) + [False] * len(clockless))

    words = vocabulary(settings.WORDNET_DIR)
    imagenet_names = [concept.name for concept in words.concepts if concept.source == IMAGENET]
    embedder = ImageNetEmbedder(device="cpu")
    detector = nanodet.NanoDetDetector(settings.NANODET_WEIGHTS, device="cpu", confidence=settings.COCO_TAG_THRESHOLD)
    started = time.perf_counter()
    tags = []
    for start in range(0, len(images), 16):
        batch = images[start : start + 16]
        tags += offline_tags(batch, embedder.analyse(batch).probabilities, detector, imagenet_names=imagenet_names,
                             coco_names=list(COCO_NAMES), imagenet_threshold=settings.IMAGENET_TAG_THRESHOLD,
                             coco_threshold=settings.COCO_TAG_THRESHOLD)  # fmt: skip
    seconds = time.perf_counter() - started

    results = {}
    for query in QUERIES:
        match = words.match(query)
        names = [set(term.concepts) for term in match.terms]
        scores = np.array([concept_relevance(frame, names) for frame in tags])
        order = np.argsort(-scores, kind="stable")
        found = scores > 0
        results[query] = {
            "matched": [sorted(term) for term in names],
            "precision_at": {str(k): round(float(truth[order[:k]].mean()), 3) for k in (10, 25, 50)},
            "any_tag": {
                "recall": round(float((found & truth).sum() / max(1, truth.sum())), 3),
                "precision": round(float((found & truth).sum() / max(1, found.sum())), 3),
                "scenes": int(found.sum()),
            },
        }
    print(json.dumps({
        "benchmark": "offline_concepts", "cpus": os.cpu_count(),
        "photos": {"real_clocks": len(clocks), "clockless": len(clockless), "seed": args.seed,
                   "clocks_from": "validation split of shlezman + ermu03", "clockless_from": "held-out fifth of "
                   "backgrounds-coco"},
        "tagging_images_per_second": round(len(images) / seconds, 2),
        "queries": results,
        "note": "the clockless photos are those in which a COCO detector found no clock, which flatters precision",
    }))  # fmt: skip


if __name__ == "__main__":
    main()
