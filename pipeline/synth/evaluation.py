"""The arithmetic of eval_reader and eval_detector, kept apart so it can be tested on its own."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

from pipeline.clock_time import minutes_apart
from pipeline.geometry import Box

if TYPE_CHECKING:
    from pipeline.labels import LabelRow
    from pipeline.read.reader import Reading


@dataclass(frozen=True)
class ReaderCase:
    true_hour: int
    true_minute: int
    read_hour: int | None  # None: unreadable
    read_minute: int | None


def reader_scores(cases: list[ReaderCase]) -> dict[str, float | int]:
    """n, top1 (hour exact and minute within ±1, wrapping at 12:00), hour_acc, minute_acc (±1), unreadable.
    An unreadable image counts as wrong in every accuracy."""
    n = len(cases)
    read = [c for c in cases if c.read_hour is not None and c.read_minute is not None]
    top1 = sum(minutes_apart(c.true_hour, c.true_minute, c.read_hour, c.read_minute) <= 1 for c in read)
    hour = sum(c.true_hour % 12 == c.read_hour % 12 for c in read)
    minute = sum(min((c.true_minute - c.read_minute) % 60, (c.read_minute - c.true_minute) % 60) <= 1 for c in read)
    share = (lambda count: round(count / n, 4)) if n else (lambda count: 0.0)
    return {"n": n, "top1": share(top1), "hour_acc": share(hour), "minute_acc": share(minute),
            "unreadable": n - len(read)}  # fmt: skip


# A reading less sure than this is counted as unreadable (and so as wrong).
UNREADABLE_BELOW = 0.01


def readings_scores(results: list[tuple[LabelRow, Reading]], threshold: float) -> dict:
    """reader_scores of labelled rows and their readings (an unsure reading is unreadable), and how
    sure readings score: top1 among those at or above `threshold`, and the share that reach it."""
    cases = []
    for row, reading in results:
        readable = reading.confidence >= UNREADABLE_BELOW
        cases.append(ReaderCase(row.hour, row.minute, reading.hour if readable else None,
                                reading.minute if readable else None))  # fmt: skip
    scores: dict = reader_scores(cases)
    sure = [(row, reading) for row, reading in results if reading.confidence >= threshold]
    right = sum(minutes_apart(row.hour, row.minute, reading.hour, reading.minute) <= 1 for row, reading in sure)
    scores["threshold"] = threshold
    scores["share_above_threshold"] = round(len(sure) / len(results), 4) if results else 0.0
    scores["top1_above_threshold"] = round(right / len(sure), 4) if sure else 0.0
    return scores


def detector_scores(truth: dict[str, list[Box]], found: dict[str, list[tuple[Box, float]]],
                    iou: float = 0.5) -> dict[str, float | int]:  # fmt: skip
    """Recall and precision at an IoU threshold: each true box may be matched once, surest detections first."""
    true_positives = false_positives = 0
    total_true = sum(len(boxes) for boxes in truth.values())
    for image, detections in found.items():
        unmatched = list(truth.get(image, []))
        for box, _confidence in sorted(detections, key=lambda item: -item[1]):
            best = max(unmatched, key=box.iou, default=None)
            if best is not None and box.iou(best) >= iou:
                unmatched.remove(best)
                true_positives += 1
            else:
                false_positives += 1
    found_total = true_positives + false_positives
    # Boxes where there is no clock at all are wrong whatever the labels' box accuracy: counted apart.
    clockless = [image for image, boxes in truth.items() if not boxes]
    return {
        "images": len(truth),
        "clocks": total_true,
        "detections": found_total,
        "recall": round(true_positives / total_true, 4) if total_true else 0.0,
        "precision": round(true_positives / found_total, 4) if found_total else 0.0,
        "clockless_images": len(clockless),
        "detections_on_clockless": sum(len(found.get(image, [])) for image in clockless),
    }


def recall_by_size(
    truth: dict[str, list[Box]],
    found: dict[str, list[tuple[Box, float]]],
    *,
    edges: tuple[int, ...] = (40, 80),
    iou: float = 0.5,
) -> dict[str, dict[str, float | int]]:
    """Recall of the true clocks grouped by their side in pixels (the larger of width and height):
    under edges[0], between each pair of edges, and from the last one up."""
    names = [
        f"<{edges[0]}px",
        *(f"{low}-{high}px" for low, high in pairwise(edges)),
        f">={edges[-1]}px",
    ]
    groups: dict[str, list[tuple[str, Box]]] = {name: [] for name in names}
    for image, boxes in truth.items():
        for box in boxes:
            side = max(box.width, box.height)
            groups[names[sum(side >= edge for edge in edges)]].append((image, box))
    result = {}
    for name, members in groups.items():
        matched = 0
        for image, box in members:
            matched += any(box.iou(found_box) >= iou for found_box, _ in found.get(image, []))
        result[name] = {"clocks": len(members), "recall": round(matched / len(members), 4) if members else 0.0}
    return result


def recall_at_precision(truth: dict[str, list[Box]], found: dict[str, list[tuple[Box, float]]], *,
                        precision: float = 0.9, iou: float = 0.5) -> dict[str, float | None]:  # fmt: skip
    """The best recall among confidence thresholds whose precision is at least `precision`, and that threshold."""
    thresholds = sorted({round(score, 4) for detections in found.values() for _, score in detections}, reverse=True)
    best: dict[str, float | None] = {"recall": 0.0, "precision": None, "threshold": None}
    for threshold in thresholds:
        kept = {image: [(b, c) for b, c in detections if c >= threshold] for image, detections in found.items()}
        scores = detector_scores(truth, kept, iou)
        if scores["precision"] >= precision and scores["recall"] >= best["recall"]:
            best = {"recall": scores["recall"], "precision": scores["precision"], "threshold": threshold}
    return best
