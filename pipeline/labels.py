"""labels.csv: clocks with their time and box, one row per clock, as eval_reader, eval_detector,
the corrections export and the training commands read and write it.

The columns are file,hour,minute,bbox_x,bbox_y,bbox_w,bbox_h,kind (see ../shared/ARCHITECTURE.md).
An image with no clock has one row with empty time and box, so that detectors are also judged
on what they find where nothing is.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

LABEL_COLUMNS = ["file", "hour", "minute", "bbox_x", "bbox_y", "bbox_w", "bbox_h", "kind"]


@dataclass(frozen=True)
class LabelRow:
    file: str
    hour: int | None
    minute: int | None
    box: tuple[int, int, int, int] | None
    kind: str = ""


def read_labels(directory: Path) -> list[LabelRow]:
    """The rows of DIR/labels.csv; a clear ValueError for a missing file or a bad row."""
    path = directory / "labels.csv"
    if not path.exists():
        raise ValueError(f"{path} not found; it needs the columns file,hour,minute (and optionally a bbox and kind)")
    rows = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "hour", "minute"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path} lacks the column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            try:
                hour = int(row["hour"]) if row["hour"] not in ("", None) else None
                minute = int(row["minute"]) if row["minute"] not in ("", None) else None
                box = None
                if row.get("bbox_x") not in ("", None):
                    box = tuple(int(float(row[key])) for key in ("bbox_x", "bbox_y", "bbox_w", "bbox_h"))
            except (TypeError, ValueError) as error:
                raise ValueError(f"{path}, line {line}: {error}") from None
            if (hour is not None and not 0 <= hour <= 24) or (minute is not None and not 0 <= minute <= 59):
                raise ValueError(f"{path}, line {line}: {row['hour']}:{row['minute']} is not a time")
            rows.append(LabelRow(row["file"], hour, minute, box, row.get("kind") or ""))  # type: ignore[arg-type]
    return rows


def write_labels(directory: Path, rows: list[LabelRow]) -> None:
    """DIR/labels.csv in the format read_labels (and eval_reader, eval_detector) reads."""
    with (directory / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LABEL_COLUMNS)
        for row in rows:
            box = row.box or ("", "", "", "")
            writer.writerow([row.file, "" if row.hour is None else row.hour, "" if row.minute is None else row.minute,
                             *box, row.kind])  # fmt: skip
