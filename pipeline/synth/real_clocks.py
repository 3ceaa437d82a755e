"""Real clock photographs from ../shared/data/real-clocks/, with the time each one shows.

Four public collections, each labelled its own way (see ../shared/data/SOURCES.md):
- `ermu03/`: labelme polygons of the long (minute) and short (hour) pointer on rectified crops;
- `shlezman/`: YOLO-seg polygons of the hour, minute and second hands (classes 0, 1, 2);
- `irsural/`: the 24-hour time in the file name, `HH-MM-SS.ms.png`;
- `cv2024-fake-hands/`: the time in the folder name, `H-MM/` (real dials, drawn hands).

The time is derived from the hands. Each polygon is filled, and its area, not its outline,
decides: the pivot is where the two hands' long axes cross (where they are too nearly parallel
to cross cleanly, where the polygons come closest), and a hand points from the pivot to the
middle of its outer half. A polygon's farthest corner, used before, put a thick hand's tip up to
15 degrees off its axis, and the place where two loose polygons touch was often not the hub:
3:00 came out 4:00 and 10:10 came out 9:12 (models/README.md). The time is the one of the 720
that fits both angles best (the hour hand moves half a degree a minute); a pair of angles that
no time fits within `MAX_HAND_DISAGREEMENT` (a children's clock with the hour hand on 9 at
half past, polygons drawn around the wrong hands) is no label at all and is left out.

Every ermu03 and shlezman image was checked by eye against its label; those whose polygons do
not mark the hands of the clock in the picture, or whose dial is turned away from the image's
top, are left out by name (`WRONG_BY_EYE`, with the reason for each). Where the polygons
mark the right hands but their axes miss a time that the picture shows beyond doubt, the
time read by eye replaces theirs (`CORRECTED_BY_EYE`). Nothing here copies an image; the
samples point at the files where they lie.

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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pipeline.labels import LabelRow, read_labels, write_labels

# The share of ermu03 and shlezman-train images kept for validation (by file-name hash).
VALIDATION_SHARE = 0.3
# How much larger than the minute hand the dial is assumed to be, to crop around it.
DIAL_PER_MINUTE_HAND = 1.25
# An image smaller than this on a side is an icon, not a photograph of a clock: shlezman holds a
# few 16-px favicons (letters, a bird) with hand polygons on them. Read as clocks, they taught
# noise and counted as errors (models/README.md).
MIN_IMAGE_SIDE = 32
# Degrees by which the hour hand may miss the place the minute hand puts it (30 h + m / 2) before
# the pair is no time: half an hour-hand step is 15, so beyond 12 the hour itself is a guess.
MAX_HAND_DISAGREEMENT = 12.0
# Hands whose axes cross at less than this angle (degrees) cross nowhere the pivot can be trusted.
MIN_CROSSING_ANGLE = 20.0
# A hand polygon at least this many times longer than wide has a long axis to point along.
MIN_HAND_ELONGATION = 2.0
# Images whose labels, checked by eye on every ermu03 and shlezman image, are not the time the
# clock in the picture shows (models/README.md). Keyed by source and file stem.
_TURNED = (
    "the dial is turned or mirrored in the picture: the polygons give the time against the image's top, "
    "not the dial's 12"
)
WRONG_BY_EYE = {
    "shlezman/test_00013": "24-hour dial: the hands show 19:30, a 12-hour reading of them 9:30",
    "shlezman/train_00035": "24-hour dial",
    "shlezman/val_00019": "24-hour dial",
    "shlezman/test_00021": "the hour polygon lies on the second hand; the clock shows 10:10",
    "shlezman/train_00003": "a worksheet of many clocks: the polygons mark none of them",
    "shlezman/train_00004": "a worksheet of many clocks: the polygons mark none of them",
    "shlezman/train_00022": "the hour polygon lies on the second hand; the clock shows 10:15",
    "shlezman/train_00028": "the polygons lie on the rim of the case, away from the hands",
    "shlezman/train_00074": "the polygons lie on the dial's numerals, away from the hands",
    "shlezman/val_00002": "the polygons point to 12:30; the hands show 8:20",
    "shlezman/val_00023": "the minute polygon lies on the second hand; the clock shows 8:25",
    **{
        f"ermu03/img_{number}_cropped_transformed": _TURNED
        for number in (13, 16, 95, 58865, 58868, 58870, 58871, 58872, 58876, 58885, 58887, 58892)
    },
}

# (hour, minute, why): the time the picture shows beyond doubt, where the polygons' axes give another.
CORRECTED_BY_EYE: dict[str, tuple[int, int, str]] = {
    "shlezman/train_00106": (
        3,
        0,
        "a teaching clock, the hour hand on the 3 and the minute hand on the 12; the polygons' axes give 2:58",
    ),
}


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


def _hand_area(polygon: np.ndarray) -> np.ndarray:
    """Points that fill the polygon, on a raster fine enough for a hand a few pixels long."""
    import cv2

    low = polygon.min(axis=0)
    span = float(np.ptp(polygon, axis=0).max())
    scale = max(1.0, 128.0 / max(span, 1e-6))
    corners = np.round((polygon - low) * scale).astype(np.int32)
    width, height = corners.max(axis=0) + 1
    mask = np.zeros((int(height), int(width)), np.uint8)
    cv2.fillPoly(mask, [corners.reshape(-1, 1, 2)], 1)
    rows, columns = np.nonzero(mask)
    if len(rows) < 3:
        return polygon  # a degenerate polygon: its corners are all there is
    return np.stack([columns, rows], axis=1) / scale + low


def _long_axis(area: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(centre, unit direction, elongation) of the area's long axis; the elongation is how many
    times longer than wide the area is spread."""
    centre = area.mean(axis=0)
    spreads, vectors = np.linalg.eigh(np.cov((area - centre).T))
    return centre, vectors[:, -1], math.sqrt(spreads[-1] / max(spreads[0], 1e-9))


def hand_angle(pivot: tuple[float, float], polygon: np.ndarray) -> tuple[float, float]:
    """(angle in degrees clockwise from 12 o'clock, length) of a hand. A hand is straight, so its
    direction is the long axis of its filled polygon, pointed from the pivot to its outer half;
    the axis does not move when the pivot is a little off, and a thick hand's corners do not pull
    it aside. A polygon hardly longer than wide has no axis to trust: then the hand points from
    the pivot to the middle of its outer half. Image y runs down, so 12 o'clock is -y."""
    return _area_angle(pivot, _hand_area(polygon))


def _area_angle(pivot: tuple[float, float], area: np.ndarray) -> tuple[float, float]:
    """`hand_angle` of a polygon already filled (`_hand_area`)."""
    area = area - np.asarray(pivot, dtype=np.float64)
    distances = np.hypot(area[:, 0], area[:, 1])
    length = float(distances.max())
    outward = area[distances >= 0.5 * length].mean(axis=0)
    _, axis, elongation = _long_axis(area)
    direction = axis if elongation >= MIN_HAND_ELONGATION else outward
    if direction @ outward < 0:
        direction = -direction
    return math.degrees(math.atan2(direction[0], -direction[1])) % 360, length


def time_and_disagreement(hour_angle: float, minute_angle: float) -> tuple[int, int, float]:
    """The dial time (hour 0-11, minute) that fits both hands' angles best, and by how many
    degrees the hour hand misses where that time puts it. Fitting both at once keeps a minute
    hand drawn a little past 12 from taking the hour back by one."""
    minutes = np.arange(720)
    minute_miss = np.abs((minute_angle - 6.0 * (minutes % 60) + 180) % 360 - 180)
    hour_miss = np.abs((hour_angle - 0.5 * minutes + 180) % 360 - 180)
    best = int(np.argmin(minute_miss**2 + hour_miss**2))
    return best // 60, best % 60, float(hour_miss[best])


def time_from_angles(hour_angle: float, minute_angle: float) -> tuple[int, int]:
    """Hour (0-11) and minute from the two hands' angles (see `time_and_disagreement`)."""
    hour, minute, _ = time_and_disagreement(hour_angle, minute_angle)
    return hour, minute


def _pivot_from_both(hour: np.ndarray, minute: np.ndarray, hour_area: np.ndarray,
                     minute_area: np.ndarray) -> tuple[float, float]:  # fmt: skip
    """The pivot of a pair of hand polygons (and their filled areas): where their long axes
    cross, if they cross at a clear angle near the polygons; otherwise the middle of the closest
    pair of points, one on each hand (the hands overlap at the hub)."""
    gaps = np.linalg.norm(hour[:, None, :] - minute[None, :, :], axis=2)
    i, j = np.unravel_index(int(gaps.argmin()), gaps.shape)
    touching = (hour[i] + minute[j]) / 2
    axes = [_long_axis(hour_area)[:2], _long_axis(minute_area)[:2]]
    (_, hour_direction), (_, minute_direction) = axes
    crossing = abs(float(hour_direction[0] * minute_direction[1] - hour_direction[1] * minute_direction[0]))
    if crossing < math.sin(math.radians(MIN_CROSSING_ANGLE)):
        return float(touching[0]), float(touching[1])
    # Least squares: the point nearest both lines (each line's projector onto its normal).
    projectors = [np.eye(2) - np.outer(direction, direction) for _, direction in axes]
    meeting = np.linalg.solve(sum(projectors), sum(p @ centre for p, (centre, _) in zip(projectors, axes, strict=True)))
    hour_length = float(np.linalg.norm(hour - touching, axis=1).max())
    if np.linalg.norm(meeting - touching) > 0.5 * hour_length:
        return float(touching[0]), float(touching[1])  # the axes cross away from the hands
    return float(meeting[0]), float(meeting[1])


def _clock_from_hands(path: Path, hour_hand: np.ndarray, minute_hand: np.ndarray, *, source: str, split: str,
                      crop_box: bool, others: tuple[np.ndarray, ...] = ()) -> RealClock | None:  # fmt: skip
    hour_area, minute_area = _hand_area(hour_hand), _hand_area(minute_hand)  # filled once, used twice
    pivot = _pivot_from_both(hour_hand, minute_hand, hour_area, minute_area)
    hour_angle, hour_length = _area_angle(pivot, hour_area)
    minute_angle, minute_length = _area_angle(pivot, minute_area)
    if minute_length < 4 or hour_length < 2:
        return None  # a degenerate polygon: no time can be trusted from it
    hour, minute, disagreement = time_and_disagreement(hour_angle, minute_angle)
    if disagreement > MAX_HAND_DISAGREEMENT:
        return None  # no time fits both hands: the label is a guess either way
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
            clocks.extend(clock for clock in read(root / folder) if f"{folder}/{clock.path.stem}" not in WRONG_BY_EYE)
    return [_corrected(clock) for clock in clocks]


def _corrected(clock: RealClock) -> RealClock:
    correction = CORRECTED_BY_EYE.get(f"{clock.source}/{clock.path.stem}")
    if correction is None:
        return clock
    hour, minute, _ = correction
    return replace(clock, hour=hour % 12, minute=minute, hour_angle=30.0 * (hour % 12) + 0.5 * minute,
                   minute_angle=6.0 * minute)  # fmt: skip


def write_eval_set(clocks: list[RealClock], directory: Path) -> int:
    """An eval_reader directory (labels.csv) that points at the images where they lie, so none is copied."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = [
        LabelRow(str(clock.path.resolve()), clock.hour or 12, clock.minute, clock.box, "analog") for clock in clocks
    ]
    write_labels(directory, rows)
    return len(rows)


def write_validation_set(root: Path, directory: Path) -> int:
    """The held-out split of the real clocks under `root` as an eval_reader directory (write_eval_set):
    what train_reader validates on and the benches read, written afresh so it follows the split's rules."""
    return write_eval_set([clock for clock in real_clocks(root) if clock.split == "validation"], directory)


@dataclass(frozen=True)
class ReviewedFrames:
    """What curators reviewed (`manage.py export_reviewed`), split for training: analog clocks with
    the time a curator confirmed or typed, and the boxes of digital displays (which teach the hand
    reader's kind head what a real display looks like; their digits are the display reader's)."""

    clocks: tuple[RealClock, ...] = ()
    displays: tuple[tuple[Path, tuple[int, int, int, int]], ...] = ()
    skipped: int = 0  # rows without a time or a box, of no kind, or whose frame is missing


def reviewed_frames(directory: Path) -> ReviewedFrames:
    """The rows of an export_reviewed folder (its labels.csv; a clear ValueError where that is
    missing or broken) as training material. Every reviewed frame is training data: the held-out
    validation split stays the one of ../shared/data, so runs with and without reviews compare."""
    clocks: list[RealClock] = []
    displays: list[tuple[Path, tuple[int, int, int, int]]] = []
    skipped = 0
    for row in read_labels(directory):
        path = directory / row.file
        if row.hour is None or row.minute is None or row.box is None or not path.is_file():
            skipped += 1
        elif row.kind == "digital":
            displays.append((path, row.box))
        elif row.kind in ("analog", ""):
            clocks.append(RealClock(path, row.hour % 12, row.minute, row.box, "reviewed", "train"))
        else:
            skipped += 1
    return ReviewedFrames(tuple(clocks), tuple(displays), skipped)
