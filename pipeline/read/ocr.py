"""The adapter for `rapidocr`: PP-OCR recognition (ONNX models inside the wheel) of digital displays.

The detector's box already frames the display, so only the recognition model runs, on the wide
display crop; its text is then parsed as a time a clock can show ("12:45", "0730", "7:30 PM",
seven-segment digits read without their colon). This is the only module that imports rapidocr.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np

from pipeline.clock_time import hour_can_be_shown
from pipeline.read.display_reader import DisplayReading

_TIME_TEXT = re.compile(r"(?<!\d)(?P<hour>[0-2]?\d)\s*[:.\s]?\s*(?P<minute>[0-5]\d)(?!\d)\s*(?P<marker>[AaPp])?")
# Characters OCR confuses with digits on segment displays. PP-OCR's multilingual alphabet reads a
# segment 8 as the CJK 日, which it closely resembles ("6:4日" for 6:48, "11:0日" for 11:08).
_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1", "Z": "2",
                             "S": "5", "s": "5", "B": "8", "日": "8", "g": "9", "q": "9", "b": "6",
                             "G": "6"})  # fmt: skip
# A segment display's minute read with a gap inside it ("1:4 1" for 1:41): the space after a
# separator and one digit, before another digit, is closed.
_SPLIT_MINUTE = re.compile(r"(?<=[:.]\d)\s+(?=\d)")


# Text on a price tag, not a clock: "$12.50" is no 12:50.
_NOT_A_CLOCK = re.compile(r"[$€£¥%]")


def parse_time_text(text: str, score: float) -> DisplayReading | None:
    """The time in an OCR'd display text, or None when it holds no time a clock can show. Digits
    with no colon or point between them ("0730", a segment display's colon unread) count only
    where they are all the text says, so that a year or a number on a sign is not read as a time."""
    if _NOT_A_CLOCK.search(text):
        return None
    marker = "none"
    # Look-alikes are translated before upper-casing ("l" is a 1 and "b" a 6, where upper-cased
    # they would be an unknown "L" and an 8) and after it (a "d" is a "D", a 0).
    upper = text.translate(_LOOKALIKES).upper().translate(_LOOKALIKES)
    if re.search(r"P\.?\s*M", upper):
        marker = "pm"
    elif re.search(r"A\.?\s*M", upper):
        marker = "am"
    cleaned = _SPLIT_MINUTE.sub("", re.sub(r"[AP]\.?\s*M\.?", " ", upper))
    for match in _TIME_TEXT.finditer(cleaned):
        hour, minute = int(match["hour"]), int(match["minute"])
        separated = re.search(r"[:.]", cleaned[match.start("hour") : match.start("minute")])
        rest = cleaned[: match.start()] + cleaned[match.end() :]
        if not separated and re.search(r"[0-9A-Z]", rest):
            continue
        if hour_can_be_shown(hour, marker != "none"):
            return DisplayReading(hour=hour, minute=minute, marker=marker, confidence=float(score),
                                  separated=bool(separated), lone_hour_digit=len(match["hour"]) == 1)  # fmt: skip
    return None


@cache
def _engine() -> object:
    from rapidocr import RapidOCR

    return RapidOCR(params={"Global.log_level": "error", "Global.use_det": False, "Global.use_cls": False,
                            "EngineConfig.onnxruntime.intra_op_num_threads": 1})  # fmt: skip


def read_displays(crops: list[np.ndarray]) -> list[DisplayReading | None]:
    """Each RGB display crop's time, or None where the text holds none."""
    engine = _engine()
    readings = []
    for crop in crops:
        result = engine(np.ascontiguousarray(crop[..., ::-1]), use_det=False, use_cls=False)
        texts, scores = result.txts or (), result.scores or ()
        reading = None
        for text, score in zip(texts, scores, strict=False):
            reading = parse_time_text(text, score)
            if reading is not None:
                break
        readings.append(reading)
    return readings
