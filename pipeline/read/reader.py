"""Reading the time on a clock crop: the trained reader, and a geometric fallback for analog faces.

Two kinds of checkpoint read clocks. The default is the hand reader (read/hand_net): ImageNet
EfficientNet-Lite0 fine-tuned on real and rendered clocks, which says whether the crop is an
analog face, a digital display or no clock, and where each hand points; the time is then decoded
jointly from both hands (read/decode). An oblique dial is read face on (read/dial_ellipse). The
older polar reader (reader_model) is still loaded when a checkpoint of its kind is named. When a
display recognizer is loaded (see display_reader), digital displays are read by it from a wide
crop.

The geometric reading (the face unwrapped into polar coordinates, where each hand is a band at
its angle) may overrule only the polar reader's unsure answers, where it was measured to help;
on real photographs it does not help the hand reader, so it never overrules that one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from pipeline.geometry import Box
from pipeline.read import decode as dial_decode
from pipeline.read.dial_ellipse import oblique_views, warp_about_centre
from pipeline.read.dial_geometry import turned_squeeze
from pipeline.read.display_reader import (
    DisplayReader,
    DisplayReading,
    display_views,
    read_with_second_opinion,
)
from pipeline.read.ocr import read_displays
from pipeline.read.reader_model import INPUT_SIZE, KINDS, MERIDIEMS, ClockReaderNet, to_tensor

# Reads display crops as text: each crop's time, or None (pipeline.read.ocr.read_displays).
DisplayOcr = Callable[[list[np.ndarray]], list[DisplayReading | None]]

# Below this the model's analog answer is checked against the hand geometry.
MODEL_SURE = 0.6
# How much larger than the detector's box the crop is; the reader was trained on such loose crops.
CROP_MARGIN = 1.15


@dataclass(frozen=True)
class Reading:
    """What one clock shows: hour 1-12, minute, and what the display says of AM/PM."""

    hour: int
    minute: int
    meridiem: str  # "unknown" | "am" | "pm"
    confidence: float
    kind: str  # "analog" | "digital"
    method: str  # "analog_model" | "analog_geometry" | "digital" (the display recognizer) | "ocr"

    def __str__(self) -> str:
        suffix = "" if self.meridiem == "unknown" else f" {self.meridiem.upper()}"
        return f"{self.hour}:{self.minute:02d}{suffix}"


def crop_clock(image: np.ndarray, box: Box | None, size: int = INPUT_SIZE) -> np.ndarray:
    """A square crop around the box (the whole image without one), resized for the reader.
    An empty image or box gives a black crop, which reads as nothing, rather than an error."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.size == 0 or min(image.shape[:2]) < 1:
        return np.zeros((size, size, 3), np.uint8)
    if box is not None:
        side = max(box.width, box.height) * CROP_MARGIN
        half = max(1, round(side / 2))
        cx, cy = round(box.x + box.width / 2), round(box.y + box.height / 2)
        # Pad first, so a clock at the frame's edge still gets a centred crop.
        padded = cv2.copyMakeBorder(image, half, half, half, half, cv2.BORDER_REPLICATE)
        image = padded[max(0, cy) : max(0, cy + 2 * half), max(0, cx) : max(0, cx + 2 * half)]
        if image.size == 0:  # a box wholly outside the picture shows nothing of it
            return np.zeros((size, size, 3), np.uint8)
    # Area averaging shrinks without aliasing; enlarging, it repeats pixels into blocks, while
    # training enlarges small clocks bilinearly (synth/hand_training), so a small clock is
    # enlarged the same way here.
    enlarging = max(image.shape[:2]) < size
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR if enlarging else cv2.INTER_AREA)


# The hand reader's decode: "joint" uses both hands and the hour head; "hands" both hands only;
# "plain" each head's argmax (see read/decode). Both hands still decide the time together (the
# hour hand at 30·h + 0.5·m); "hands" leaves out the plain hour classifier's vote, which with run
# 31 and four views costs more than it gives. Measured, joint -> hands (models/README.md): real
# split 0.851 -> 0.866 (sure readings 0.929 -> 0.944 right); plain renderer 0.930 -> 0.938 and
# 0.912 -> 0.923 (turned analog 0.812 -> 0.844); eval-crops-9002 0.758 -> 0.761; 12 real photo
# videos 11 right and 1 wrong -> 11 right and 0 wrong; 60 videos 45 right, 5 wrong either way.
HAND_DECODE = "hands"
# How strongly the measured minute-hand profile sharpens the model's minute (0: not at all), for
# networks that read the hands against the dial's 12. The network reads at 112 px, where a minute
# is 6 degrees; the polar profile of the crop finds the long hand's direction more finely, and the
# model's own distribution keeps it from picking a numeral or a shadow. Measured on the real
# validation split and on rendered crops: 2 helps the first and costs the second nothing; stronger
# helps real photographs more but hurts rendered ones (models/README.md). A network that reads the
# dial's tilt finds the hands against the crop's up more finely itself, and the profile only
# costs it: 0 there (real split 0.843 at 0, 0.806 at 2).
GEOMETRY_MINUTE_WEIGHT = 2.0
TILT_GEOMETRY_MINUTE_WEIGHT = 0.0
# Each crop is read again turned by these angles (degrees, counter-clockwise on screen), and those
# readings' hand distributions, turned back, are multiplied in. The network reads hands against
# the image's up more than against the dial's numerals, and a slightly tilted dial is the common
# case in real photographs: three views of it disagree where one view is unsure. Measured on the
# real validation split (134 photos, run 4's weights): 0.754 with one view, 0.813 with ±10° (10
# photos gained, 2 lost); on rendered analog crops 0.637 and 0.639 (models/README.md). It triples the
# network's work per reading, not per frame: the scan reads only boxes that hold a clock.
TURNED_VIEWS = (-10.0, 10.0)
# ...and once more mirrored left to right, its hand distributions mirrored back. A mirrored dial
# is one the network never trained on (its numerals read backwards), so this view errs apart from
# the others, and its vote is the most independent of the four. Measured with run 15 (joint
# decode, models/README.md): real split p_true 0.551 -> 0.561, top1 0.851 -> 0.866; rendered
# analog crops (718) p_true 0.494 -> 0.501, top1 0.742 -> 0.741. Mirrored and turned as well
# (five or six views) read worse than this one mirror. A view costs a third more network work.
MIRRORED_VIEW = True
# A dial seen from the side is read face on: its ellipse fitted and the crop stretched back along
# its short axis (read/dial_ellipse, which says when the crop is read as it is as well). The
# network learned dials squeezed to 0.7 at most, and reads more squeezed ones confidently wrong.
# Measured on the real validation split's crops squeezed along a random axis (run 31,
# bench/real_damage): to 0.6, 0.284 as they are and 0.769 so; to 0.75, 0.664 and 0.776; face on,
# 0.851 and 0.843 (models/README.md).
FACE_ON_OBLIQUE = True
# A whole picture (a still read without its box) may show a display that the hand reader, which
# sees it squashed into its square input with all its surroundings, takes for no clock at all: a
# plain seven-segment "1:55 PM" read P(no clock) 0.91 and 6:00 at 0.00, where the display readers
# read it right at 0.985. A whole picture the hand reader reads below NO_CLOCK_SEEN is read by the
# display readers too, and their reading kept where it is at least WHOLE_DISPLAY_SURE. Measured on
# whole pictures, display readers with OCR's second opinion: the surest of the 500 clockless COCO
# photographs reads 0.60. Pictures the hand reader does see a dial in are left to it: OCR read a
# plain analog dial's numerals as "0:20" at 0.84, where the hand reader read it right.
NO_CLOCK_SEEN = 0.1
WHOLE_DISPLAY_SURE = 0.7

# A display the hand reader saw but no display recognizer is loaded to read: its hand heads mean
# nothing there, so the reading is kept only as a hint for review, far below any accept threshold.
UNREAD_DISPLAY_CONFIDENCE = 0.1


class ClockReader:
    """The trained reader (and display recognizer, when given), loaded once; reads batches of clocks."""

    def __init__(self, checkpoint: str | Path | None, *, device: str | None = None,
                 display_checkpoint: str | Path | None = None, model: object | None = None,
                 turned_views: tuple[float, ...] = TURNED_VIEWS, mirrored_view: bool = MIRRORED_VIEW,
                 face_on_oblique: bool = FACE_ON_OBLIQUE,
                 display_ocr: DisplayOcr | None = read_displays) -> None:  # fmt: skip
        from pipeline.read import hand_net
        from pipeline.read.checkpoints import load_checkpoint

        if model is None:
            # The ImageNet weights are not loaded first: the checkpoint's replace them all.
            builders = {
                name: lambda width, name=name: hand_net.HandReaderNet.of(name) for name in hand_net.ARCHITECTURES
            }
            builders["polar"] = ClockReaderNet
            model, _ = load_checkpoint(checkpoint, builders, device=device)
        self.model = model
        architecture = getattr(model, "architecture", "polar")
        self.hands = architecture in hand_net.ARCHITECTURES
        self.input_size = hand_net.INPUT_SIZE if self.hands else INPUT_SIZE
        self.device = str(next(self.model.parameters()).device)
        self.display = DisplayReader(str(display_checkpoint), device=self.device) if display_checkpoint else None
        # A second opinion on displays the recognizer is unsure of (see choose_display_reading).
        self.display_ocr = display_ocr
        self.turned_views = turned_views
        self.mirrored_view = mirrored_view
        self.face_on_oblique = face_on_oblique
        tilt = architecture in hand_net.TILT_ARCHITECTURES
        self.geometry_weight = TILT_GEOMETRY_MINUTE_WEIGHT if tilt else GEOMETRY_MINUTE_WEIGHT

    def crops(self, images: list[np.ndarray], boxes: list[Box | None]) -> list[np.ndarray]:
        return [crop_clock(image, box, self.input_size) for image, box in zip(images, boxes, strict=True)]

    def face_on(self, crops: list[np.ndarray]) -> tuple[list[np.ndarray], list[bool]]:
        """The crops as the hand reader reads them, oblique dials face on (FACE_ON_OBLIQUE), and
        for each whether the crop as it is is read beside it."""
        if not (self.hands and self.face_on_oblique):
            return crops, [False] * len(crops)
        views = [oblique_views(crop, CROP_MARGIN) for crop in crops]
        return [view for view, _ in views], [as_well for _, as_well in views]

    def read_clocks(self, images: list[np.ndarray], boxes: list[Box | None]) -> list[Reading]:
        """Readings for the clock in each box of each RGB image (the whole image where the box is None)."""
        readings = self.read(self.crops(images, boxes))
        if self.display is None:
            return readings
        digital = [index for index, reading in enumerate(readings) if reading.kind == "digital"]
        # Whole pictures in which the hand reader sees no clock may show a display (WHOLE_DISPLAY_SURE).
        unseen = [
            index
            for index, reading in enumerate(readings)
            if boxes[index] is None and reading.kind != "digital" and reading.confidence < NO_CLOCK_SEEN
        ]
        if not digital and not unseen:
            return readings
        views = [display_views(images[index], boxes[index]) for index in digital + unseen]
        displays = read_with_second_opinion(self.display.read_views, self.display_ocr, views)
        for index, (shown, method) in zip(digital + unseen, displays, strict=True):
            if readings[index].kind == "digital" or shown.confidence >= WHOLE_DISPLAY_SURE:
                readings[index] = Reading(hour=shown.hour % 12 or 12, minute=shown.minute, meridiem=shown.meridiem,
                                          confidence=shown.confidence, kind="digital", method=method)  # fmt: skip
        return readings

    def no_clock_probabilities(self, images: list[np.ndarray], boxes: list[Box]) -> np.ndarray:
        """The probability that each box shows no clock at all, from the hand reader's kind head
        (trained with clockless crops of real photographs); 0 for a reader without that kind."""
        from pipeline.read import hand_net

        if not self.hands or not boxes:
            return np.zeros(len(boxes))
        return self.probabilities(self.crops(images, list(boxes)))["kind"][:, hand_net.KINDS.index("none")]

    def probabilities(self, crops: list[np.ndarray], batch_size: int = 64) -> dict[str, np.ndarray]:
        """Each head's softmax for RGB uint8 crops of the model's input size, in batches (a
        regressed head's numbers as they are)."""
        import torch

        from pipeline.read.hand_net import REGRESSED_HEADS
        from pipeline.read.hand_net import to_tensor as hand_tensor

        parts: dict[str, list[np.ndarray]] = {}
        dtype = next(self.model.parameters()).dtype
        with torch.no_grad():
            for start in range(0, len(crops), batch_size):
                batch = hand_tensor(crops[start : start + batch_size]).to(self.device, dtype)
                for key, logits in self.model(batch).items():
                    values = logits.float() if key in REGRESSED_HEADS else logits.float().softmax(1)
                    parts.setdefault(key, []).append(values.cpu().numpy())
        return {key: np.concatenate(value) for key, value in parts.items()}

    def hand_probabilities(self, crops: list[np.ndarray]) -> dict[str, np.ndarray]:
        """The hand reader's heads for each crop, read upright, turned by each of `turned_views`
        and, with `mirrored_view`, mirrored: each view's hand distributions turned (or mirrored)
        back to the upright dial, and the views' distributions combined by their geometric mean
        (each view a vote of confidence); the squeeze, turned back too, by its mean. The mirrored
        view votes on the dial's geometry only (the hands, its 12, its squeeze: _NOT_MIRRORED)."""
        from pipeline.read.hand_net import REGRESSED_HEADS

        views = [self.probabilities(crops)]
        for degrees in self.turned_views:
            turned = self.probabilities([turn(crop, degrees) for crop in crops])
            views.append({key: _turned_back(key, value, degrees) for key, value in turned.items()})
        if self.mirrored_view:
            mirrored = self.probabilities([mirror(crop) for crop in crops])
            views.append({key: _mirrored_back(key, value) for key, value in mirrored.items()
                          if key not in _NOT_MIRRORED})  # fmt: skip
        if len(views) == 1:
            return views[0]
        combined = {}
        for key in views[0]:
            voters = [view[key] for view in views if key in view]
            if key in REGRESSED_HEADS:
                combined[key] = np.mean(voters, axis=0)
                continue
            combined[key] = dial_decode.geometric_mean(voters)
        return combined

    def read(self, crops: list[np.ndarray]) -> list[Reading]:
        """Readings for RGB uint8 crops of the model's input size (see crop_clock)."""
        import torch

        if not crops:
            return []
        if self.hands:
            views, as_well = self.face_on(crops)
            outputs = self.hand_probabilities(views)
            # Mildly oblique dials are read as they are too (read/dial_ellipse).
            twice = [index for index, both in enumerate(as_well) if both]
            as_they_are = self.hand_probabilities([crops[index] for index in twice]) if twice else {}
            also = {index: _row(as_they_are, row) for row, index in enumerate(twice)}
            return [hand_reading(_row(outputs, index), HAND_DECODE, view, self.geometry_weight, also=also.get(index))
                    for index, view in enumerate(views)]  # fmt: skip
        batch = to_tensor(crops).to(self.device)
        with torch.no_grad():
            outputs = {key: value.softmax(1).cpu().numpy() for key, value in self.model(batch).items()}
        readings = []
        for index, crop in enumerate(crops):
            reading = _decode({key: value[index] for key, value in outputs.items()})
            if reading.kind == "analog" and reading.confidence < MODEL_SURE:
                measured = read_hands(crop)
                if measured is not None and measured.confidence > reading.confidence:
                    reading = measured
            readings.append(reading)
        return readings


# The heads that say where something on the dial points, and so turn with the crop: how many bins
# each ends with that are no direction (the second hand's "none"), which stay as they are.
_DIRECTION_HEADS = {"minute": 0, "hour_hand": 0, "up": 0, "second_hand": 1}
# Heads the mirrored view has no vote in: a mirrored hour is no whole hour, and a mirrored display
# is not what the kind head learned (bench/plain_clocks' displays: 0.940 with its vote, 0.946 without).
_NOT_MIRRORED = ("hour", "kind")


def _turned_back(head: str, values: np.ndarray, degrees: float) -> np.ndarray:
    """A head's outputs for a crop turned `degrees`, as they would be for the crop itself."""
    if head in _DIRECTION_HEADS:
        return _on_directions(head, values, lambda directions: turn_back(directions, degrees))
    if head == "squeeze":
        return turned_squeeze(values, degrees)
    return values


def _mirrored_back(head: str, values: np.ndarray) -> np.ndarray:
    """A head's outputs for a crop mirrored left to right, as they would be for the crop itself:
    a direction θ clockwise from up is -θ in the mirror (bin i <-> bin -i), and a squeeze axis at
    φ from the x axis is π - φ (its vector, at 2φ, keeps its cosine and negates its sine)."""
    if head in _DIRECTION_HEADS:
        return _on_directions(head, values, lambda directions: np.roll(directions[:, ::-1], 1, axis=1))
    if head == "squeeze":
        return values * np.array([1.0, -1.0])
    return values


def _on_directions(head: str, values: np.ndarray, move: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`move` applied to a direction head's bins that are directions, the others kept."""
    others = _DIRECTION_HEADS[head]
    if not others:
        return move(values)
    return np.concatenate([move(values[:, :-others]), values[:, -others:]], axis=1)


def mirror(crop: np.ndarray) -> np.ndarray:
    """The crop mirrored left to right."""
    return np.ascontiguousarray(crop[:, ::-1])


def turn(crop: np.ndarray, degrees: float) -> np.ndarray:
    """The crop turned counter-clockwise about its centre; the corners filled from its edge."""
    return warp_about_centre(crop, cv2.getRotationMatrix2D((0.0, 0.0), degrees, 1.0)[:, :2])


def turn_back(distributions: np.ndarray, degrees: float) -> np.ndarray:
    """Distributions over directions around the dial (rows; bins clockwise from 12) read on a
    crop turned `degrees` counter-clockwise, turned back: a hand the turned crop shows at θ
    points at θ + degrees on the crop itself. Shifted by a fraction of a bin where need be."""
    bins = distributions.shape[1]
    shift = degrees * bins / 360
    whole = int(np.floor(shift))
    share = shift - whole
    # Turned back, bin i holds what the turned view had at i - shift: between i - whole and
    # i - whole - 1.
    return (1 - share) * np.roll(distributions, whole, axis=1) + share * np.roll(distributions, whole + 1, axis=1)


@cache
def load_reader(checkpoint: str, device: str = "auto", display_checkpoint: str | None = None) -> ClockReader:
    """One reader per process, loaded on first use. Without a display checkpoint (or when its file is
    missing) the main model reads digital displays too."""
    if display_checkpoint and not Path(display_checkpoint).exists():
        display_checkpoint = None
    return ClockReader(checkpoint, device=None if device == "auto" else device, display_checkpoint=display_checkpoint)


def minute_hand_likelihood(crop: np.ndarray, weight: float = GEOMETRY_MINUTE_WEIGHT) -> np.ndarray:
    """How much each of the 60 minute directions of the crop looks like the long hand, as a
    likelihood to multiply into the model's minute distribution (all ones at weight 0)."""
    if weight == 0:
        return np.ones(60)
    _, middle = hand_profiles(cv2.resize(crop, (96, 96), interpolation=cv2.INTER_AREA))
    per_minute = middle[:_ANGLES].reshape(60, _ANGLES // 60).max(axis=1)
    return np.exp(weight * (per_minute - per_minute.max()))


def hand_reading(probabilities: dict[str, np.ndarray], decode: str = HAND_DECODE, crop: np.ndarray | None = None,
                 geometry_weight: float = GEOMETRY_MINUTE_WEIGHT, *,
                 also: dict[str, np.ndarray] | None = None) -> Reading:  # fmt: skip
    """The hand reader's answer for one crop. Its confidence is the probability that the time is
    right within a minute, times the probability that the crop is the kind it is read as: a crop
    the model takes for no clock at all reads with a confidence near 0. With the crop, the
    minute is sharpened by the measured hand profile by `geometry_weight` (see GEOMETRY_MINUTE_WEIGHT).
    `also`: the heads of the same dial read another way (an oblique dial as it is, beside face
    on); the two time posteriors of the joint decodes are multiplied."""
    from pipeline.read.hand_net import KINDS as HAND_KINDS

    kind_probability = probabilities["kind"]
    minute = probabilities["minute"]
    if crop is not None and decode != "plain" and geometry_weight:
        minute = minute * minute_hand_likelihood(crop, geometry_weight)
        minute = minute / max(float(minute.sum()), 1e-12)
    if decode == "plain":
        time = dial_decode.decode_plain(minute, probabilities["hour"])
    else:
        posterior = hand_time_posterior(probabilities, minute, decode)
        if also is not None:
            posterior = dial_decode.geometric_mean([posterior, hand_time_posterior(also, also["minute"], decode)])
        time = dial_decode.decode_posterior(posterior)
    kind = HAND_KINDS[int(kind_probability.argmax())]
    if kind == "digital":
        confidence = float(kind_probability[HAND_KINDS.index("digital")]) * UNREAD_DISPLAY_CONFIDENCE
        return Reading(hour=time.hour or 12, minute=time.minute, meridiem="unknown", confidence=confidence,
                       kind="digital", method="digital")  # fmt: skip
    return Reading(
        hour=time.hour or 12,
        minute=time.minute,
        meridiem="unknown",
        confidence=time.confidence * float(kind_probability[HAND_KINDS.index("analog")]),
        kind="analog",
        method="analog_model",
    )


def _row(heads: dict[str, np.ndarray], index: int) -> dict[str, np.ndarray]:
    """One crop's heads from a batch's."""
    return {key: value[index] for key, value in heads.items()}


def hand_time_posterior(heads: dict[str, np.ndarray], minute: np.ndarray, decode: str = HAND_DECODE) -> np.ndarray:
    """The 720 dial times' posterior from one crop's heads, as `decode` ("joint" or "hands") reads them."""
    hour = heads["hour"] if decode == "joint" else None
    return dial_decode.time_posterior(minute, heads["hour_hand"], hour, heads.get("up"), heads.get("squeeze"))


def _decode(probabilities: dict[str, np.ndarray]) -> Reading:
    kind = KINDS[int(probabilities["kind"].argmax())]
    hour_index = int(probabilities["hour"].argmax())
    minute = int(probabilities["minute"].argmax())
    minutes = probabilities["minute"]
    # ±1 minute counts as right, so the minute's confidence includes its neighbours.
    minute_confidence = minutes[minute] + minutes[(minute - 1) % 60] + minutes[(minute + 1) % 60]
    meridiem = MERIDIEMS[int(probabilities["meridiem"].argmax())] if kind == "digital" else "unknown"
    return Reading(
        hour=hour_index or 12,
        minute=minute,
        meridiem=meridiem,
        confidence=float(probabilities["hour"][hour_index] * min(1.0, minute_confidence)),
        kind=kind,
        method="digital" if kind == "digital" else "analog_model",
    )


# -- geometry ------------------------------------------------------------------------------

_ANGLES = 360


def hand_profiles(crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How much each direction (0 = 12 o'clock, clockwise, in degrees) looks like a hand:
    over the inner part of the face (both hands) and the middle ring (the minute hand only)."""
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32) if crop.ndim == 3 else crop.astype(np.float32)
    size = gray.shape[0]
    radius = size / 2 / CROP_MARGIN * 0.95
    # Rows are angles from +x (3 o'clock), clockwise on screen; columns run outwards.
    polar = cv2.warpPolar(gray, (64, _ANGLES), (size / 2, size / 2), radius, cv2.WARP_POLAR_LINEAR)
    polar = np.roll(polar, _ANGLES // 4, axis=0)  # so that row 0 points at 12 o'clock
    face = np.median(polar[:, 10:48])
    contrast = np.abs(polar - face)
    contrast /= max(float(contrast[:, 6:48].max()), 1e-6)
    # A low percentile along the ray: a hand covers the whole stretch, a numeral only a bit of it.
    inner = np.percentile(contrast[:, 6:22], 25, axis=1)
    middle = np.percentile(contrast[:, 12:40], 25, axis=1)
    smooth = np.ones(5) / 5
    wrap = lambda profile: np.convolve(np.r_[profile[-2:], profile, profile[:2]], smooth, "valid")  # noqa: E731
    return wrap(inner), wrap(middle)


def read_hands(crop: np.ndarray) -> Reading | None:
    """The time from the hand angles of an analog face, or None when no hands stand out."""
    inner, middle = hand_profiles(crop)
    minute_angle = int(middle.argmax())
    minute_strength = middle[minute_angle] - np.median(middle)
    suppressed = inner.copy()
    for offset in range(-15, 16):
        suppressed[(minute_angle + offset) % _ANGLES] = 0
    hour_angle = int(suppressed.argmax())
    hour_strength = suppressed[hour_angle] - np.median(inner)
    if hour_strength < 0.5 * (inner[minute_angle] - np.median(inner)):
        hour_angle = minute_angle  # the hands overlap
        hour_strength = inner[minute_angle] - np.median(inner)
    if minute_strength < 0.15 or hour_strength < 0.1:
        return None
    minute = round(minute_angle / 6) % 60
    # The hour hand sits between hours by the minutes passed; undo that to find its hour.
    hour = round(hour_angle / 30 - minute / 60) % 12
    confidence = float(min(0.9, math.tanh(2 * min(minute_strength, hour_strength))))
    return Reading(hour=hour or 12, minute=minute, meridiem="unknown", confidence=confidence, kind="analog",
                   method="analog_geometry")  # fmt: skip
