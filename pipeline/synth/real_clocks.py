"""Real clock photographs from ../shared/data/real-clocks/, with the time each one shows.

Four public collections, each labelled its own way (see ../shared/data/SOURCES.md):
- `ermu03/`: labelme polygons of the long (minute) and short (hour) pointer on rectified crops;
- `shlezman/`: YOLO-seg polygons of the hour, minute and second hands (classes 0, 1, 2);
- `irsural/`: the 24-hour time in the file name, `HH-MM-SS.ms.png`;
- `cv2024-fake-hands/`: the time in the folder name, `H-MM/` (real dials, drawn hands).

The time is derived from the hands: each hand's tip is its polygon point farthest from the
pivot, the pivot is where the hands overlap (the crops are not all centred), and the hour is
taken from the hour hand's angle less the part the minute hand explains, so a hand annotated a
little early or late cannot move the hour. Nothing here copies an image; the samples point at
the files where they lie.

The split is fixed by a hash of each file's name, so it never changes between runs, and the
validation part is never trained on. cv2024-fake-hands repeats the same dials with different
drawn hands, so all of it is training data: a validation image of a dial seen in training would
flatter the score.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.labels import LabelRow, write_labels

# The share of ermu03 and shlezman-train images kept for validation (by file-name hash).
VALIDATION_SHARE = 0.3
# How much larger than the minute hand the dial is assumed to be, to crop around it.
DIAL_PER_MINUTE_HAND = 1.25
# An image smaller than this on a side is an icon, not a photograph of a clock: shlezman holds a
# few 16-px favicons (letters, a bird) with hand polygons on them. Read as clocks, they taught
# noise and counted as errors (models/README.md).
MIN_IMAGE_SIDE = 32


@dataclass(frozen=True)
class RealClock:
    """One labelled clock: where its image lies, the time (hour 0-11), and its box in that image."""

    path: Path
    hour: int
    minute: int
    box: tuple[int, int, int, int] | None  # x, y, w, h; None: the image is the crop
    source: str
    split: str  # "train" | "validation"
    hour_angle: float | None = None  # degrees clockwise from 12, where the hands are known
    minute_angle: float | None = None
    # The annotated hand polygons in image pixels (hour, minute, then any second hand), where known:
    # training paints them out and draws new hands at other times on the same real dial.
    hands: tuple[np.ndarray, ...] = ()
    pivot: tuple[float, float] | None = None


def hand_angle(pivot: tuple[float, float], polygon: np.ndarray) -> tuple[float, float]:
    """(angle in degrees clockwise from 12 o'clock, length) of the hand whose tip is the polygon
    point farthest from the pivot. Image y runs down, so 12 o'clock is -y."""
    offsets = polygon - np.asarray(pivot, dtype=np.float64)
    distances = np.hypot(offsets[:, 0], offsets[:, 1])
    tip = offsets[int(distances.argmax())]
    return math.degrees(math.atan2(tip[0], -tip[1])) % 360, float(distances.max())


def time_from_angles(hour_angle: float, minute_angle: float) -> tuple[int, int]:
    """Hour (0-11) and minute from the two hands' angles. The hour hand moves 0.5 degree a minute,
    so its hour is what remains once the minutes are taken off."""
    minute = round(minute_angle / 6) % 60
    hour = round((hour_angle - 0.5 * minute) / 30) % 12
    return hour, minute


def _pivot_from_both(hour: np.ndarray, minute: np.ndarray) -> tuple[float, float]:
    """The pivot of a pair of hand polygons: the middle of the closest pair of points, one on each
    hand (the hands overlap at the hub)."""
    gaps = np.linalg.norm(hour[:, None, :] - minute[None, :, :], axis=2)
    i, j = np.unravel_index(int(gaps.argmin()), gaps.shape)
    return float((hour[i][0] + minute[j][0]) / 2), float((hour[i][1] + minute[j][1]) / 2)


def _clock_from_hands(path: Path, hour_hand: np.ndarray, minute_hand: np.ndarray, *, source: str, split: str,
                      crop_box: bool, others: tuple[np.ndarray, ...] = ()) -> RealClock | None:  # fmt: skip
    pivot = _pivot_from_both(hour_hand, minute_hand)
    hour_angle, hour_length = hand_angle(pivot, hour_hand)
    minute_angle, minute_length = hand_angle(pivot, minute_hand)
    if minute_length < 4 or hour_length < 2:
        return None  # a degenerate polygon: no time can be trusted from it
    hour, minute = time_from_angles(hour_angle, minute_angle)
    box = None
    if crop_box:
        half = max(minute_length, hour_length * 1.4) * DIAL_PER_MINUTE_HAND
        box = (round(pivot[0] - half), round(pivot[1] - half), round(2 * half), round(2 * half))
    return RealClock(path, hour, minute, box, source, split, hour_angle, minute_angle,
                     hands=(hour_hand, minute_hand, *others), pivot=pivot)  # fmt: skip


def _split(name: str, share: float = VALIDATION_SHARE) -> str:
    digest = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    return "validation" if digest / 0xFFFFFFFF < share else "train"


def ermu03_clocks(root: Path) -> list[RealClock]:
    """The labelme set: long_pointer is the minute hand, short_pointer the hour hand."""
    clocks = []
    for label_file in sorted((root / "train" / "jsons").glob("*.json")):
        label = json.loads(label_file.read_text())
        shapes = {shape["label"]: np.asarray(shape["points"], dtype=np.float64) for shape in label["shapes"]}
        image = root / "train" / "test_transform" / (label_file.stem + ".jpg")
        if "long_pointer" not in shapes or "short_pointer" not in shapes or not image.exists():
            continue
        clock = _clock_from_hands(image, shapes["short_pointer"], shapes["long_pointer"], source="ermu03",
                                  split=_split(image.name), crop_box=False)  # fmt: skip
        if clock is not None:
            clocks.append(clock)
    return clocks


def shlezman_clocks(root: Path) -> list[RealClock]:
    """The YOLO-seg set: class 0 the hour hand, 1 the minute hand, 2 the second hand, in
    coordinates relative to the image size. Its own val and test folders are validation; its
    train folder is split by hash like the rest."""
    import cv2

    clocks = []
    dataset = root / "ac_hands_ft" / "dataset"
    for label_file in sorted((dataset / "labels").glob("*/*.txt")):
        folder = label_file.parent.name
        images = [path for path in (dataset / "images" / folder).glob(label_file.stem + ".*")]
        if not images:
            continue
        hands: dict[int, list[np.ndarray]] = {}
        for line in label_file.read_text().splitlines():
            values = line.split()
            if len(values) < 7:
                continue
            hands.setdefault(int(values[0]), []).append(np.asarray(values[1:], dtype=np.float64).reshape(-1, 2))
        if len(hands.get(0, [])) != 1 or len(hands.get(1, [])) != 1:
            continue  # no hands, or several clocks in one picture: which hour goes with which minute is unknown
        shape = cv2.imread(str(images[0]), cv2.IMREAD_UNCHANGED)
        if shape is None:
            continue
        height, width = shape.shape[:2]
        if min(height, width) < MIN_IMAGE_SIDE:
            continue
        scale = np.array([width, height], dtype=np.float64)
        split = "validation" if folder in ("val", "test") else _split(images[0].name)
        seconds = tuple(polygon * scale for polygon in hands.get(2, []))
        clock = _clock_from_hands(images[0], hands[0][0] * scale, hands[1][0] * scale, source="shlezman",
                                  split=split, crop_box=True, others=seconds)  # fmt: skip
        if clock is not None:
            clocks.append(clock)
    return clocks


_IRSURAL_NAME = re.compile(r"^(?P<hour>\d{2})-(?P<minute>\d{2})-\d{2}")


def irsural_clocks(root: Path) -> list[RealClock]:
    """One aircraft clock at six times: too few to learn from, all validation."""
    clocks = []
    for image in sorted(root.glob("*.png")):
        match = _IRSURAL_NAME.match(image.name)
        if match:
            clocks.append(RealClock(image, int(match["hour"]) % 12, int(match["minute"]), None, "irsural",
                                    "validation"))  # fmt: skip
    return clocks


_FOLDER_TIME = re.compile(r"^(?P<hour>\d{1,2})-(?P<minute>\d{2})$")


def fake_hands_clocks(root: Path) -> list[RealClock]:
    """Real dial faces with drawn hands, the time in the folder name. All training (see the module doc)."""
    clocks = []
    for folder in sorted((root / "data_analog_clocks" / "real_staright_images" / "fake_hands").iterdir()):
        match = _FOLDER_TIME.match(folder.name)
        if not match or not folder.is_dir():
            continue
        for image in sorted(folder.iterdir()):
            if image.suffix.lower() in (".jpg", ".jpeg", ".png"):
                clocks.append(RealClock(image, int(match["hour"]) % 12, int(match["minute"]), None,
                                        "cv2024-fake-hands", "train"))  # fmt: skip
    return clocks


def real_clocks(root: Path) -> list[RealClock]:
    """Every labelled clock under `root` (../shared/data/real-clocks), from the folders that exist."""
    readers = {"ermu03": ermu03_clocks, "shlezman": shlezman_clocks, "irsural": irsural_clocks,
               "cv2024-fake-hands": fake_hands_clocks}  # fmt: skip
    clocks: list[RealClock] = []
    for folder, read in readers.items():
        if (root / folder).is_dir():
            clocks.extend(read(root / folder))
    return clocks


def write_eval_set(clocks: list[RealClock], directory: Path) -> int:
    """An eval_reader directory (labels.csv) that points at the images where they lie, so none is copied."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = [
        LabelRow(str(clock.path.resolve()), clock.hour or 12, clock.minute, clock.box, "analog") for clock in clocks
    ]
    write_labels(directory, rows)
    return len(rows)
