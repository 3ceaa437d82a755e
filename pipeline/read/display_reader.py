"""Reading digital displays: a small recognizer for the four digit places and the AM/PM marker.

A display is wide, so it gets its own wide crop (see crop_display below) instead of the square
one the analog reader sees. Each digit place is classified on its own (blank or 0-9), as in
multi-digit street-number reading, and the hour and minute are then chosen jointly among the
values a clock can show, so that a doubtful digit cannot produce 27:75.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import torch
from torch import nn

from pipeline.clock_time import hour_can_be_shown
from pipeline.geometry import Box

DISPLAY_SIZE = (128, 40)  # width, height of the crop
PLACES = 4
# Class 0 is a blank place (a 12-hour display writes 9:05 as " 905"), then the digits.
DIGIT_CLASSES = 11
MARKERS = ("none", "am", "pm")


def digit_class(char: str) -> int:
    return 0 if char == " " else int(char) + 1


def _block(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
        nn.Conv2d(outputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class DisplayReaderNet(nn.Module):
    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.width = width
        self.trunk = nn.Sequential(
            _block(3, width),  # 20 x 64
            _block(width, width * 2),  # 10 x 32
            _block(width * 2, width * 4),  # 5 x 16
            nn.Conv2d(width * 4, width * 4, (5, 1), bias=False),  # 1 x 16: one column of features per 8 px
            nn.BatchNorm2d(width * 4),
            nn.ReLU(inplace=True),
            nn.Flatten(),
        )
        self.neck = nn.Sequential(nn.Dropout(0.2), nn.Linear(width * 4 * 16, 256), nn.ReLU(inplace=True))
        self.places = nn.Linear(256, PLACES * DIGIT_CLASSES)
        self.marker = nn.Linear(256, len(MARKERS))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images: N x 3 x 40 x 128, normalized per image (see to_display_tensor)."""
        features = self.neck(self.trunk(images))
        return {"places": self.places(features).view(-1, PLACES, DIGIT_CLASSES), "marker": self.marker(features)}


def to_display_tensor(crops: list[np.ndarray]) -> torch.Tensor:
    """RGB uint8 crops of DISPLAY_SIZE to a batch with each image's own mean and contrast removed:
    a dim LCD and a bright LED then look alike to the network."""
    batch = torch.from_numpy(np.stack(crops).astype(np.float32)).permute(0, 3, 1, 2)
    mean = batch.mean(dim=(1, 2, 3), keepdim=True)
    spread = batch.std(dim=(1, 2, 3), keepdim=True).clamp_min(4.0)
    return ((batch - mean) / spread).contiguous()


@dataclass(frozen=True)
class DisplayReading:
    """What a display shows: the hour as displayed (0-23), minute, marker, and the joint probability."""

    hour: int
    minute: int
    marker: str
    confidence: float
    # OCR: whether a colon or point stood between the hour and the minute ("20:08", not "2008").
    separated: bool = True
    # OCR: whether the hour was written with one digit ("8:47"), which may be a "18:47" whose
    # thin segment 1 it lost.
    lone_hour_digit: bool = False
    # The recognizer: its digit probabilities (PLACES x DIGIT_CLASSES), to weigh another reader's time.
    places: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def meridiem(self) -> str:
        """AM/PM when the display says it: a marker, or a 24-hour reading that can only be one of them."""
        if self.marker != "none":
            return self.marker
        if self.hour >= 13:
            return "pm"
        if self.hour == 0:
            return "am"
        return "unknown"


def _hour_table() -> list[tuple[int, int, int]]:
    """(hour, tens class, units class) for every way a clock writes an hour: 0-23, with or without a leading zero."""
    table = []
    for hour in range(24):
        tens, units = divmod(hour, 10)
        table.append((hour, digit_class(str(tens)), digit_class(str(units))))
        if tens == 0:
            table.append((hour, digit_class(" "), digit_class(str(units))))
    return table


_HOURS = _hour_table()


# An AM or PM marker is taken only when the marker head is this sure of it; else the display is
# read as saying nothing of AM/PM (the clip then serves both halves of the day). The markers are
# a few pixels tall in the recognizer's crop: on 1000 rendered displays (display_sample, seed
# 9101, turned views) runs 1 and 3 find whether there is one, but of their AM/PM calls 155 and
# 146 of 285 were the wrong one, and still half of those made at 0.6 or more. None reached 0.7.
MARKER_SURE = 0.8


def shown_probability(places: np.ndarray, hour: int, minute: int) -> float:
    """How likely the recognizer's digit probabilities find that the display shows hour:minute
    (the hour as displayed, 0-23, written either way)."""
    hours = sum(float(places[0, tens] * places[1, units]) for shown, tens, units in _HOURS if shown == hour)
    tens, units = divmod(minute, 10)
    return hours * float(places[2, digit_class(str(tens))] * places[3, digit_class(str(units))])


def decode_display(places: np.ndarray, marker: np.ndarray) -> DisplayReading:
    """places: 4 x DIGIT_CLASSES probabilities; marker: len(MARKERS) probabilities."""
    hour_scores: dict[int, float] = {}
    for hour, tens, units in _HOURS:
        hour_scores[hour] = hour_scores.get(hour, 0.0) + float(places[0, tens] * places[1, units])
    hour = max(hour_scores, key=hour_scores.__getitem__)
    minute_scores = places[2, 1:7][:, None] * places[3, 1:11][None, :]  # tens 0-5 x units 0-9
    tens, units = np.unravel_index(int(minute_scores.argmax()), minute_scores.shape)
    return DisplayReading(
        hour=hour,
        minute=int(tens * 10 + units),
        marker=MARKERS[int(marker.argmax())] if float(marker.max()) >= MARKER_SURE else "none",
        confidence=float(hour_scores[hour] * minute_scores[tens, units]),
        places=places,
    )


@torch.no_grad()
def display_probabilities(model: DisplayReaderNet, crops: list[np.ndarray],
                          device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Each crop's digit-place (N x PLACES x DIGIT_CLASSES) and marker (N x len(MARKERS)) softmax."""
    outputs = model(to_display_tensor(crops).to(device))
    return outputs["places"].softmax(2).cpu().numpy(), outputs["marker"].softmax(1).cpu().numpy()


class DisplayReader:
    """The trained display recognizer, loaded once; reads batches of wide crops."""

    def __init__(self, checkpoint: str, *, device: str | None = None) -> None:
        from pipeline.read.checkpoints import load_checkpoint

        self.model, _ = load_checkpoint(checkpoint, DisplayReaderNet, device=device)
        self.device = str(next(self.model.parameters()).device)

    def probabilities(self, crops: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return display_probabilities(self.model, crops, self.device)

    def read(self, crops: list[np.ndarray]) -> list[DisplayReading]:
        """One reading per crop, each read as it is."""
        if not crops:
            return []
        places, markers = self.probabilities(crops)
        return [decode_display(places[index], markers[index]) for index in range(len(crops))]

    def read_views(self, views: list[list[np.ndarray]]) -> list[DisplayReading]:
        """One reading per display from several views of it (display_views): what the views
        agree on, the geometric mean of their probabilities, which stays as sure as one view
        where they agree and drops where they don't (keeping the surest view instead made its
        readings at 0.9 or more wrong 8 times in 179 on eval-crops-9002, against 2 in 145)."""
        if not views:
            return []
        counts = [len(display) for display in views]
        places, markers = self.probabilities([crop for display in views for crop in display])
        readings, start = [], 0
        for count in counts:
            readings.append(decode_display(_geometric_mean(places[start : start + count]),
                                           _geometric_mean(markers[start : start + count])))  # fmt: skip
            start += count
        return readings


def _geometric_mean(probabilities: np.ndarray) -> np.ndarray:
    """Normalised geometric mean over the first axis (the views), along the last (the classes)."""
    mean = np.exp(np.log(probabilities + 1e-6).mean(axis=0))
    return mean / mean.sum(axis=-1, keepdims=True)


DISPLAY_MARGIN = 0.08

# The recognizer was trained on one renderer's displays (LCD and LED segments, heavy damage) and
# is sure and right on them (above 0.9: 26 of 27 and 133 of 138 right on bench/plain_clocks and
# eval-crops-9002), but reads plain typed or drawn digits badly (bench/plain_clocks: 0.33), where
# PP-OCR, trained on real text, reads 0.92. OCR's parsed time is taken over an unsure recognition
# when OCR is this sure (measured on both sets: 0.5 / 0.7 / 0.8 / 0.9 -> plain 0.951 / 0.946 /
# 0.924 / 0.908, eval-crops-9002 digital 0.706 / 0.709 / 0.709 / 0.699).
RECOGNIZER_SURE = 0.9
OCR_SURE = 0.7
# A time OCR reads with a colon or point at this confidence or more is taken even over a sure
# recognition: the recognizer is sure and wrong on typed faces it never trained on (a serif
# "03:03" read 10:00 at 0.97 where OCR read it at 1.00). On the three rendered sets above (766
# displays), OCR's separated readings at 0.99 or more were 108 of 108 right; at 0.98, 122 of 123
# (a segment "10:55" whose thin 1 it lost, read 0:55 at 0.987).
OCR_CERTAIN = 0.99
# Four digits with nothing between them ("2008") are a time only where the recognizer sees a
# display at all (its own reading at least DISPLAY_SEEN) and finds that time possible (at least
# UNSEPARATED_SUPPORT). OCR read a red petal's "20 to" beside a dial's 8 as 2008, taken as 20:08
# at 0.86 (bench/real_videos, shlezman test_00000): the recognizer's own reading there was 0.035.
# Segment displays whose colon OCR loses still pass. On the three rendered sets (bench/displays,
# eval-crops-9002's displays, plain displays; 766), OCR's unseparated readings taken before were
# 10: the 3 wrong ones had a support of 1e-5 or less, the 7 right ones 7.5e-4 or more, from a
# recognizer reading at 0.36 or more; right 261 / 222 / 177 -> 263 / 223 / 177.
UNSEPARATED_SUPPORT = 1e-4
DISPLAY_SEEN = 0.1


# PP-OCR loses the thin leading 1 of a segment display: "10:55" came out "0:55" at 0.987 and
# "18:47" "8:47". Where OCR wrote the hour with one digit and the recognizer, seeing a display at
# all (DISPLAY_SEEN), gives a 1 in the hour's tens place at least this probability, the 1 is put
# back. The recognizer's gate matters: on a typed "3:11" it never learned (its own reading 0.06)
# it gave the tens place a 1 at 0.49. Measured on the three rendered sets (models/README.md):
# plain displays 178 -> 180 of 184, bench/displays and eval-crops-9002 unchanged. A lone 1 is
# left as it is: the recognizer lays a three-character "1:16" into its four places with that 1
# in the tens place, so its support there is the same 1, not a second one (bench/plain_clocks
# --painter opencv: "1:16" and "1:28" read 11:16 and 11:28 at supports 0.55-0.97).
LOST_ONE_SUPPORT = 0.4


def _with_lost_one(ocr: DisplayReading, recognized: DisplayReading) -> DisplayReading:
    """OCR's reading with a leading 1 put back where it wrote the hour with one digit, the hour
    with a 1 before it can be shown, and the recognizer sees a 1 in the hour's tens place."""
    if not ocr.lone_hour_digit or ocr.hour == 1 or recognized.places is None or recognized.confidence < DISPLAY_SEEN:
        return ocr
    hour = ocr.hour + 10
    if not hour_can_be_shown(hour, ocr.marker != "none"):
        return ocr
    if float(recognized.places[0, digit_class("1")]) < LOST_ONE_SUPPORT:
        return ocr
    return replace(ocr, hour=hour, lone_hour_digit=False)


def choose_display_reading(recognized: DisplayReading, ocr: DisplayReading | None) -> tuple[DisplayReading, str]:
    """The reading to keep, and which reader gave it ("digital" for the recognizer, "ocr")."""
    if ocr is None or ocr.confidence < OCR_SURE:
        return recognized, "digital"
    if recognized.confidence >= RECOGNIZER_SURE and not (ocr.separated and ocr.confidence >= OCR_CERTAIN):
        return recognized, "digital"
    if (
        not ocr.separated
        and recognized.places is not None
        and (
            recognized.confidence < DISPLAY_SEEN
            or shown_probability(recognized.places, ocr.hour, ocr.minute) < UNSEPARATED_SUPPORT
        )
    ):
        return recognized, "digital"
    ocr = _with_lost_one(ocr, recognized)
    if (ocr.hour - recognized.hour) % 12 == 0 and ocr.minute == recognized.minute:
        # Both readers agree: the surer of the two, with the marker whichever one saw.
        marker = ocr.marker if ocr.marker != "none" else recognized.marker
        return DisplayReading(ocr.hour, ocr.minute, marker, max(ocr.confidence, recognized.confidence)), "ocr"
    return ocr, "ocr"


def read_with_second_opinion(recognize: Callable[[list[list[np.ndarray]]], list[DisplayReading]],
                             ocr: Callable[[list[np.ndarray]], list[DisplayReading | None]] | None,
                             views: list[list[np.ndarray]]) -> list[tuple[DisplayReading, str]]:  # fmt: skip
    """Each display recognized from its views (display_views; DisplayReader.read_views) and its
    first view read as text by `ocr`; the reading kept for each (choose_display_reading) and which
    reader gave it. OCR reads every display, the recognizer's sure ones too: text it reads
    plainly overrules a recognizer that is sure of a face it never learned (OCR_CERTAIN)."""
    recognized = recognize(views)
    texts = ocr([each[0] for each in views]) if ocr is not None and views else [None] * len(views)
    return [choose_display_reading(reading, text) for reading, text in zip(recognized, texts, strict=True)]


# A display is read in views turned about its centre by these angles (degrees), as the analog
# reader reads turned views: the recognizer misreads displays that stand skewed in the picture
# (06:13 read 3:13 at 0.84). Measured with display run 1, the recognizer alone, geometric mean
# of the views (eval-crops-9002's 282 displays / bench/displays' 300, seed 9100 / plain
# displays, whose misreadings OCR reads): upright 0.699 / 0.833 / 0.326; ±6° 0.748 / 0.860 /
# 0.321; ±12° 0.773 / 0.843 / 0.315; ±6° and ±12° 0.766 / 0.850 / 0.321; ±6° to ±18° 0.780 /
# 0.840 / 0.332; ±12° and ±24° 0.777 / 0.817 / 0.321. Scaled views (0.85, 1.15 of the box) add
# nothing to the turns (0.770 / 0.857 with ±12°).
DISPLAY_TURNS = (0.0, -6.0, 6.0, -12.0, 12.0)


def display_views(image: np.ndarray, box: Box | None, size: tuple[int, int] = DISPLAY_SIZE,
                  turns: tuple[float, ...] = DISPLAY_TURNS) -> list[np.ndarray]:  # fmt: skip
    """The display in the box (the whole picture where it is None), cropped as crop_display
    crops it from the picture turned about the box's centre by each of `turns`: the first view is
    the picture as it is when turns[0] is 0."""
    height, width = image.shape[:2]
    if image.size == 0:  # nothing to turn: crop_display makes black views of it
        return [crop_display(image, box, size) for _ in turns]
    centre = (box.x + box.width / 2, box.y + box.height / 2) if box is not None else (width / 2, height / 2)
    views = []
    for turn in turns:
        turned = image
        if turn:
            rotation = cv2.getRotationMatrix2D(centre, turn, 1.0)
            turned = cv2.warpAffine(image, rotation, (width, height), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        views.append(crop_display(turned, box, size))
    return views


def crop_display(image: np.ndarray, box: Box | None, size: tuple[int, int]) -> np.ndarray:
    """The box with a small margin, stretched to `size` (w, h): displays are wide, so not squared."""
    if image.ndim == 2 and image.size:  # a grey picture: the recognizer reads three channels
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if box is not None:
        mx, my = box.width * DISPLAY_MARGIN, box.height * DISPLAY_MARGIN
        pad = int(max(mx, my)) + 1
        padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0 = round(box.x - mx) + pad, round(box.y - my) + pad
        x1, y1 = round(box.x + box.width + mx) + pad, round(box.y + box.height + my) + pad
        image = padded[max(0, y0) : max(y0 + 2, y1), max(0, x0) : max(x0 + 2, x1)]
    if image.size == 0:  # an empty picture, or a box wholly outside it
        return np.zeros((size[1], size[0], 3), np.uint8)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
