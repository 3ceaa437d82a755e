"""Rendered data sets on disk: detector scenes (YOLO format) and labelled crops, each with a labels.csv
(pipeline/labels.py)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from pipeline.images import read_rgb
from pipeline.labels import LabelRow, write_labels
from pipeline.synth.clocks import reader_sample, render_scene

# The share of digital displays among rendered reader crops (training and evaluation alike).
DIGITAL_SHARE = 0.3


# The share of rendered detector scenes drawn on a real clockless photo, where photos are given.
REAL_BACKGROUND_SHARE = 0.6


def _scene_chunk(args: tuple[Path, int, int, int, int, int, str, tuple[str, ...]]) -> list[LabelRow]:
    out, seed, start, count, width, height, split, photos = args
    rows = []
    for index in range(start, start + count):
        rng = np.random.default_rng([seed, index])
        background = None
        if photos and rng.random() < REAL_BACKGROUND_SHARE:
            background = read_rgb(photos[int(rng.integers(len(photos)))])
        scene = render_scene(rng, width, height, background=background)
        name = f"{split}/scene-{index:06d}.jpg"
        cv2.imwrite(
            str(out / "images" / name), cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92]
        )
        yolo_lines = []
        for box, clock in zip(scene.boxes, scene.clocks, strict=True):
            x, y, w, h = box
            yolo_lines.append(
                f"0 {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} {w / width:.6f} {h / height:.6f}"
            )
            rows.append(LabelRow(f"images/{name}", clock.time.hour12, clock.time.minute, box, clock.kind))
        if not scene.boxes:
            rows.append(LabelRow(f"images/{name}", None, None, None))
        (out / "labels" / name).with_suffix(".txt").write_text("\n".join(yolo_lines) + ("\n" if yolo_lines else ""))
    return rows


def write_scene_dataset(out: Path, *, seed: int, count: int, validation_share: float = 0.1, width: int = 640,
                        height: int = 384, workers: int = 2, backgrounds: list[Path] | None = None,
                        progress: Callable[[int], None] | None = None) -> Path:  # fmt: skip
    """Render scenes into OUT in YOLO layout (images/{train,val}, labels/{train,val}, data.yaml) plus
    labels.csv; REAL_BACKGROUND_SHARE of them on the real clockless `backgrounds` photos when given
    (pass only photos never held out for evaluation)."""
    photos = tuple(str(path) for path in backgrounds or ())
    validation = int(count * validation_share)
    jobs = []
    for split, first, total in (("train", 0, count - validation), ("val", count - validation, validation)):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        jobs += [
            (out, seed, s, min(200, first + total - s), width, height, split, photos)
            for s in range(first, first + total, 200)
        ]
    rows: list[LabelRow] = []
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for part in pool.imap(_scene_chunk, jobs):
            rows.extend(part)
            if progress is not None:
                progress(len({row.file for row in part}))
    write_labels(out, rows)
    (out / "data.yaml").write_text(f"path: {out.resolve()}\ntrain: images/train\nval: images/val\nnames:\n  0: clock\n")
    return out


def add_reviewed_clocks(out: Path, reviewed: Path) -> int:
    """The clocks curators reviewed (`manage.py export_reviewed`: frames + labels.csv with boxes)
    added to a YOLO data set's training split as real frames; returns the frames added. Running it
    again rewrites the same files."""
    from pipeline.labels import read_labels

    boxes: dict[str, list[tuple[int, int, int, int]]] = {}
    for row in read_labels(reviewed):
        boxes.setdefault(row.file, [])
        if row.box is not None:
            boxes[row.file].append(row.box)
    (out / "images" / "train").mkdir(parents=True, exist_ok=True)
    (out / "labels" / "train").mkdir(parents=True, exist_ok=True)
    added = 0
    for index, (file, frame_boxes) in enumerate(sorted(boxes.items())):
        image = cv2.imread(str(reviewed / file), cv2.IMREAD_COLOR)
        if image is None:
            continue
        height, width = image.shape[:2]
        name = f"train/reviewed-{index:06d}.jpg"
        cv2.imwrite(str(out / "images" / name), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        lines = [f"0 {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} {w / width:.6f} {h / height:.6f}"
                 for x, y, w, h in frame_boxes]  # fmt: skip
        (out / "labels" / name).with_suffix(".txt").write_text("".join(line + "\n" for line in lines))
        added += 1
    return added


def write_crop_dataset(
    out: Path, *, seed: int, count: int, size: int = 96, digital_share: float = DIGITAL_SHARE
) -> Path:
    """Render labelled clock crops (the eval_reader format, no bbox: the whole image is the crop)."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(count):
        rng = np.random.default_rng([seed, index])
        sample = reader_sample(rng, size, digital_share=digital_share)
        name = f"images/crop-{index:06d}.png"
        cv2.imwrite(str(out / name), cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))
        rows.append(LabelRow(name, sample.time.hour % 12 or 12, sample.time.minute, None, sample.kind))
    write_labels(out, rows)
    return out


def render_cached(cache: Path, render_chunk: Callable[[tuple[int, int, int]], dict[str, np.ndarray]], seed: int,
                  count: int, *, workers: int = 2,
                  progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """Arrays rendered by `render_chunk((seed, start, count))` in chunks on `workers` processes,
    or loaded from `cache` when an earlier run rendered them."""
    if cache.exists():
        data = np.load(cache)
        return {key: data[key] for key in data.files}
    cache.parent.mkdir(parents=True, exist_ok=True)
    chunk = 500
    jobs = [(seed, start, min(chunk, count - start)) for start in range(0, count, chunk)]
    parts = []
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for part in pool.imap(render_chunk, jobs):
            parts.append(part)
            if progress is not None:
                progress(len(next(iter(part.values()))))
    merged = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    partial = cache.with_suffix(".tmp.npz")
    np.savez(partial, **merged)
    partial.replace(cache)
    return merged
