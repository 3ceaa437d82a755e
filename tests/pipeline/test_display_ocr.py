"""Digital displays read as text by RapidOCR (PP-OCR inside its wheel, no network), and the choice
between it and the project's display recognizer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

from pipeline.geometry import Box
from pipeline.read import ocr
from pipeline.read.display_reader import (
    DIGIT_CLASSES,
    DISPLAY_SEEN,
    OCR_CERTAIN,
    OCR_SURE,
    RECOGNIZER_SURE,
    UNSEPARATED_SUPPORT,
    DisplayReading,
    choose_display_reading,
    decode_display,
    digit_class,
    read_with_second_opinion,
    shown_probability,
)
from pipeline.read.ocr import parse_time_text, read_displays
from pipeline.read.reader import NO_CLOCK_SEEN, WHOLE_DISPLAY_SURE, ClockReader, load_reader
from pipeline.synth.clocks import DrawnTime, draw_analog, paste, random_analog_style

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12:45", (12, 45, "none")),
        ("07:30 PM", (7, 30, "pm")),
        ("7.30a.m.", (7, 30, "am")),
        ("1O:45", (10, 45, "none")),  # a segment 0 read as the letter O
        ("0730", (7, 30, "none")),
        ("21 05", (21, 5, "none")),
        ("MON 12:50", (12, 50, "none")),
        ("1250 PM", (12, 50, "pm")),
        ("6:4日“", (6, 48, "none")),  # a segment 8 read as the CJK 日 it looks like
        ("10:1日 43", (10, 18, "none")),
        ("1:4 1-", (1, 41, "none")),  # a gap inside the minute's segments
        ("l2:45", (12, 45, "none")),  # a lower-case l is a 1, not an unknown L once upper-cased
        ("1b:4g", (16, 49, "none")),  # lower-case b and g are a 6 and a 9, not an 8 and a 6
    ],
)
def test_display_text_is_parsed_as_a_time(text, expected):
    reading = parse_time_text(text, 0.9)
    assert reading is not None
    assert (reading.hour, reading.minute, reading.marker) == expected
    assert reading.confidence == 0.9
    assert reading.separated == any(mark in text for mark in ":."), "whether a colon or point stood between"


@pytest.mark.parametrize("text", ["27:75", "SALE", "", "13:05 PM", "1:7", "$12.50", "2015 TOUR", "ROOM 1250", "45%"])
def test_text_that_is_no_time_a_clock_shows_is_none(text):
    assert parse_time_text(text, 0.9) is None


def _typed_display(text: str, ink=(20, 230, 60), background=(10, 10, 10)) -> np.ndarray:
    image = Image.new("RGB", (360, 120), background)
    ImageDraw.Draw(image).text((180, 60), text, fill=ink, font=ImageFont.truetype(str(FONT), 70), anchor="mm")
    return np.asarray(image)


@pytest.mark.skipif(not FONT.exists(), reason="needs Debian's fonts-dejavu-core")
def test_rapidocr_reads_a_typed_display_offline(no_network):
    ocr._engine.cache_clear()  # its models load here, from the wheel, with the network off
    [reading] = read_displays([_typed_display("10:45")])
    assert reading is not None and (reading.hour, reading.minute) == (10, 45)
    assert reading.confidence > OCR_SURE
    [nothing] = read_displays([np.zeros((40, 128, 3), np.uint8)])
    assert nothing is None


def test_a_sure_recognizer_keeps_its_reading_against_ocr_short_of_certain():
    recognized = DisplayReading(9, 5, "none", RECOGNIZER_SURE + 0.05)
    almost = DisplayReading(8, 5, "none", OCR_CERTAIN - 0.01)
    assert choose_display_reading(recognized, almost) == (recognized, "digital")
    # Four digits without a colon are not text read plainly, however sure OCR is of them.
    bare = DisplayReading(8, 5, "none", 0.999, separated=False)
    assert choose_display_reading(recognized, bare) == (recognized, "digital")


def test_certain_ocr_overrules_even_a_sure_recognizer():
    """A serif "03:03" the recognizer (trained on segment displays) read 10:00 at 0.97."""
    typed = DisplayReading(3, 3, "none", OCR_CERTAIN)
    assert choose_display_reading(DisplayReading(10, 0, "none", 0.97), typed) == (typed, "ocr")


def test_sure_ocr_overrules_an_unsure_recognizer():
    ocr = DisplayReading(3, 3, "none", 0.97)
    assert choose_display_reading(DisplayReading(10, 0, "am", 0.6), ocr) == (ocr, "ocr")


def test_unsure_or_missing_ocr_leaves_the_recognizer():
    recognized = DisplayReading(10, 0, "none", 0.6)
    assert choose_display_reading(recognized, DisplayReading(3, 3, "none", OCR_SURE - 0.1)) == (recognized, "digital")
    assert choose_display_reading(recognized, None) == (recognized, "digital")


def test_agreeing_readers_keep_the_surer_confidence_and_any_marker():
    chosen, method = choose_display_reading(DisplayReading(21, 5, "none", 0.8), DisplayReading(9, 5, "pm", 0.75))
    assert (chosen.hour % 12, chosen.minute, chosen.meridiem, chosen.confidence) == (9, 5, "pm", 0.8)
    assert method == "ocr"


@pytest.mark.skipif(not FONT.exists(), reason="needs Debian's fonts-dejavu-core")
@pytest.mark.parametrize(("text", "hour", "minute"), [("3:03", 3, 3), ("11:44", 11, 44), ("08:11", 8, 11)])
def test_the_reader_reads_typed_displays(text, hour, minute):
    """Typed digits, which the display recognizer (trained on segment displays) misreads: the
    committed reader reads them through OCR, in a box of a larger picture as the scan gives them."""
    reader = load_reader(str(settings.READER_WEIGHTS), "cpu", str(settings.DISPLAY_READER_WEIGHTS))
    display = _typed_display(text, ink=(240, 240, 240), background=(30, 30, 60))
    picture = np.full((300, 500, 3), 200, np.uint8)
    picture[90:210, 70:430] = display
    [reading] = reader.read_clocks([picture], [Box(70, 90, 360, 120)])
    assert reading.kind == "digital"
    assert (reading.hour, reading.minute) == (hour, minute), f"{text} read {reading} by {reading.method}"


def test_ocr_reads_each_displays_upright_view_in_one_call():
    sure, unsure = DisplayReading(9, 5, "none", 0.95), DisplayReading(10, 0, "am", 0.4)
    asked: list[list[np.ndarray]] = []

    def ocr(crops):
        asked.append(crops)
        return [DisplayReading(3, 3, "none", 0.9) for _ in crops]

    # Each display's views: the upright one first, then turned ones.
    views = [[np.full((40, 128, 3), base + turn, np.uint8) for turn in (0, 1, 2)] for base in (0, 100)]
    chosen = read_with_second_opinion(lambda _: [sure, unsure], ocr, views)
    assert len(asked) == 1 and [crop is view[0] for crop, view in zip(asked[0], views, strict=True)] == [True, True]
    assert chosen == [(sure, "digital"), (DisplayReading(3, 3, "none", 0.9), "ocr")]
    assert read_with_second_opinion(lambda _: [sure, unsure], None, views) == [(sure, "digital"), (unsure, "digital")]


def _recognized(places_of: dict[int, dict[str, float]]) -> DisplayReading:
    """The recognizer's reading of digit probabilities (place -> {char: weight}), as it decodes them."""
    places = np.full((4, DIGIT_CLASSES), 1e-3)
    for index, weights in places_of.items():
        for char, weight in weights.items():
            places[index, digit_class(char)] = weight
    return decode_display(places / places.sum(1, keepdims=True), np.array([1.0, 0.0, 0.0]))


def test_bare_digits_are_a_time_only_where_the_recognizer_sees_that_display():
    """OCR read a red petal's "20 to" beside a dial's 8 as "2008": four bare digits are taken over
    an unsure recognizer only where it sees a display at all and finds that time possible."""
    bare = parse_time_text("2008", 0.86)
    assert bare is not None and not bare.separated
    no_display = _recognized({})  # every digit as likely as any other: no display seen
    assert no_display.confidence < DISPLAY_SEEN
    assert choose_display_reading(no_display, bare) == (no_display, "digital")
    other_time = _recognized({0: {"1": 0.2}, 1: {"2": 0.2}, 2: {"1": 0.2}, 3: {"5": 0.2}})
    assert DISPLAY_SEEN <= other_time.confidence < RECOGNIZER_SURE
    assert shown_probability(other_time.places, 20, 8) < UNSEPARATED_SUPPORT
    assert choose_display_reading(other_time, bare) == (other_time, "digital"), "a display seen, 20:08 not on it"
    # A segment display whose colon OCR lost: the recognizer reads 20:06, unsure, and 20:08 is possible.
    unsure_of_it = _recognized({0: {"2": 0.6}, 1: {"0": 0.6}, 2: {"0": 0.9}, 3: {"6": 0.55, "8": 0.45}})
    assert (unsure_of_it.hour, unsure_of_it.minute) == (20, 6)
    assert unsure_of_it.confidence < RECOGNIZER_SURE
    assert choose_display_reading(unsure_of_it, bare) == (bare, "ocr")
    typed = parse_time_text("20:08", 0.86)
    assert choose_display_reading(no_display, typed) == (typed, "ocr"), "a typed time the recognizer cannot read"


def test_a_lone_hour_digit_is_noted():
    assert parse_time_text("8:47", 0.9).lone_hour_digit
    assert not parse_time_text("18:47", 0.9).lone_hour_digit
    assert not parse_time_text("08:47", 0.9).lone_hour_digit


def test_a_thin_leading_one_ocr_lost_is_put_back_where_the_recognizer_sees_it():
    """PP-OCR read a segment "10:55" as "0:55" at 0.987 and "18:47" as "8:47"; the recognizer,
    unsure of the whole, put a 1 in the hour's tens place."""
    lost = parse_time_text("0:55", 0.987)
    sees_a_one = _recognized({0: {"1": 0.8, " ": 0.2}, 1: {"8": 0.6}, 2: {"5": 0.9}, 3: {"5": 0.9}})
    assert DISPLAY_SEEN <= sees_a_one.confidence < RECOGNIZER_SURE
    chosen, method = choose_display_reading(sees_a_one, lost)
    assert (chosen.hour, chosen.minute, method) == (10, 55, "ocr")
    # A blank tens place, or a recognizer that sees no display of its kind, leaves OCR's hour.
    sees_a_blank = _recognized({0: {" ": 0.8, "1": 0.2}, 1: {"8": 0.6}, 2: {"5": 0.9}, 3: {"5": 0.9}})
    assert choose_display_reading(sees_a_blank, lost)[0].hour == 0
    typed = parse_time_text("3:11", 0.96)
    sees_nothing = _recognized({0: {"1": 0.5, " ": 0.4}})
    assert sees_nothing.confidence < DISPLAY_SEEN
    assert choose_display_reading(sees_nothing, typed)[0].hour == 3
    # Two digits written, or a 1 that would make no hour (9 PM is no 19 PM), stay as OCR read them.
    assert choose_display_reading(sees_a_one, parse_time_text("08:47", 0.9))[0].hour == 8
    assert choose_display_reading(sees_a_one, parse_time_text("9:47 PM", 0.9))[0].hour == 9
    # A lone 1 is the 1 the recognizer sees in its tens place ("1:16" laid into four places), not a lost one.
    assert choose_display_reading(sees_a_one, parse_time_text("1:16", 0.95))[0].hour == 1


def test_the_recognizer_weighs_a_time_written_either_way():
    places = np.full((4, DIGIT_CLASSES), 1e-6)
    for index, char in enumerate(" 730"):
        places[index, digit_class(char)] = 1.0
    assert shown_probability(places, 7, 30) == pytest.approx(1.0, abs=1e-4), "' 7:30' is 7:30"
    assert shown_probability(places, 17, 30) < 1e-5


def _display_picture(text: str) -> np.ndarray:
    """A typed display with its surroundings, as a still without its box shows one (bench/plain_clocks)."""
    picture = np.full((178, 390, 3), (200, 200, 210), np.uint8)
    picture[36:142, 36:354] = _typed_display(text, ink=(240, 240, 240), background=(30, 30, 60))[7:113, 21:339]
    return picture


def _dial_picture() -> np.ndarray:
    """A drawn analog clock (the project's renderer) on a plain picture a little larger than it."""
    rng = np.random.default_rng(3)
    picture = np.full((240, 240, 3), 235, np.uint8)
    paste(picture, np.asarray(draw_analog(DrawnTime(10, 10, 0), random_analog_style(rng), 200, rng).image), 20, 20)
    return picture


@pytest.mark.skipif(not FONT.exists(), reason="needs Debian's fonts-dejavu-core")
@pytest.mark.parametrize(("text", "hour", "minute"), [("11:15", 11, 15), ("10:08", 10, 8)])
def test_a_whole_picture_of_a_display_the_hand_reader_sees_no_clock_in_is_read_as_a_display(text, hour, minute):
    reader = load_reader(str(settings.READER_WEIGHTS), "cpu", str(settings.DISPLAY_READER_WEIGHTS))
    picture = _display_picture(text)
    # What the rule is for: squashed into the hand reader's square, the display reads as no clock.
    [alone] = reader.read(reader.crops([picture], [None]))
    assert alone.kind != "digital" and alone.confidence < NO_CLOCK_SEEN, f"the hand reader now reads {alone}"
    [reading] = reader.read_clocks([picture], [None])
    assert reading.kind == "digital" and (reading.hour, reading.minute) == (hour, minute), f"{text} read {reading}"
    assert reading.confidence >= WHOLE_DISPLAY_SURE


def test_only_whole_pictures_without_a_dial_are_read_again_as_displays():
    """A sure display reading does not replace the hand reader's where it saw a dial, nor in a box
    (the scan's boxes: there the kind head decides), nor where it is less sure than WHOLE_DISPLAY_SURE."""
    asked: list[int] = []

    def ocr(crops):
        asked.append(len(crops))
        return [DisplayReading(3, 3, "none", ocr_confidence) for _ in crops]

    reader = ClockReader(settings.READER_WEIGHTS, device="cpu", display_checkpoint=settings.DISPLAY_READER_WEIGHTS,
                         display_ocr=ocr)  # fmt: skip
    blank = np.full((178, 390, 3), 200, np.uint8)  # the recognizer is unsure of it, so OCR is asked
    dial = _dial_picture()
    ocr_confidence = 0.99
    [on_blank, on_dial] = reader.read_clocks([blank, dial], [None, None])
    assert (on_blank.kind, on_blank.hour, on_blank.minute, on_blank.method) == ("digital", 3, 3, "ocr")
    assert on_dial.kind == "analog", f"the dial's reading was replaced: {on_dial}"
    [in_box] = reader.read_clocks([blank], [Box(0, 0, 390, 178)])
    assert in_box.kind != "digital", f"a box the hand reader sees no clock in was read as a display: {in_box}"
    ocr_confidence = WHOLE_DISPLAY_SURE - 0.05
    [unsure] = reader.read_clocks([blank], [None])
    assert unsure.kind != "digital" and unsure.confidence < NO_CLOCK_SEEN
    assert asked, "OCR was never asked"
