"""Still pictures without a box: the clock in a scene is found and read in its box; a close crop
is read whole."""

from __future__ import annotations

import json
from io import StringIO

import cv2
import numpy as np
import pytest
from django.core.management import call_command

from catalog import ml
from pipeline.clock_time import minutes_apart
from pipeline.geometry import Box
from pipeline.labels import LabelRow, write_labels
from pipeline.scan.detector import FoundClock
from pipeline.scan.still import MAX_BOX_SHARE, candidate_box, read_in_boxes, read_stills
from pipeline.synth.clocks import DrawnTime, draw_analog, random_analog_style, random_background


def _scene(hour: int, minute: int, seed: int, *, size: int = 130, width: int = 640, height: int = 480):
    """A clock of `size` px pasted into a busy background; the picture and the clock's box."""
    rng = np.random.default_rng(seed)
    canvas = random_background(rng, width, height)
    clock = draw_analog(DrawnTime(hour, minute, 0), random_analog_style(rng), size, rng).image
    alpha = clock[..., 3:4] / 255
    x, y = int(rng.integers(0, width - size)), int(rng.integers(0, height - size))
    region = canvas[y : y + size, x : x + size]
    canvas[y : y + size, x : x + size] = (region * (1 - alpha) + clock[..., :3] * alpha).astype(np.uint8)
    return canvas, Box(x, y, size, size)


def test_the_candidate_is_the_surest_box_clearly_smaller_than_the_picture():
    whole = FoundClock(Box(0, 0, 95, 95), 0.99)
    small = FoundClock(Box(10, 10, 20, 20), 0.4)
    smaller_and_surer = FoundClock(Box(50, 50, 10, 10), 0.7)
    assert candidate_box([whole], 100, 100) is None, "a box nearly the picture is the picture"
    assert candidate_box([whole, small], 100, 100) == small.box
    assert candidate_box([small, smaller_and_surer], 100, 100) == smaller_and_surer.box
    assert candidate_box([], 100, 100) is None
    edge = np.sqrt(MAX_BOX_SHARE) * 100
    assert candidate_box([FoundClock(Box(0, 0, edge + 1, edge + 1), 0.9)], 100, 100) is None


@pytest.fixture(scope="module")
def models():
    detector, _ = ml.clock_detector()
    return detector, ml.clock_reader()


@pytest.mark.parametrize(("hour", "minute", "seed"), [(10, 10, 1), (4, 37, 2), (8, 20, 3)])
def test_a_clock_in_a_scene_is_found_and_read_in_its_box(models, hour, minute, seed):
    detector, reader = models
    picture, truth = _scene(hour, minute, seed)
    [still] = read_stills(detector.find, reader.read_clocks, [picture])
    assert still.box is not None, "the scene is read in the detector's box"
    overlap_x = min(still.box.x + still.box.width, truth.x + truth.width) - max(still.box.x, truth.x)
    overlap_y = min(still.box.y + still.box.height, truth.y + truth.height) - max(still.box.y, truth.y)
    assert overlap_x > truth.width / 2 and overlap_y > truth.height / 2, (still.box, truth)
    assert minutes_apart(hour, minute, still.reading.hour, still.reading.minute) <= 1, still.reading


def test_a_close_crop_is_read_whole(models):
    detector, reader = models
    picture, _ = _scene(3, 40, 4, size=150, width=160, height=160)
    [still] = read_stills(detector.find, reader.read_clocks, [picture])
    assert still.box is None
    [whole] = reader.read_clocks([picture], [None])
    assert still.reading == whole


def test_read_stills_reads_nothing_for_no_pictures(models):
    detector, reader = models
    assert read_stills(detector.find, reader.read_clocks, []) == []


def test_eval_reader_finds_the_clock_in_a_scene_without_a_box(tmp_path):
    rows = []
    for index, (hour, minute) in enumerate([(10, 10), (4, 37), (8, 20)]):
        picture, _ = _scene(hour, minute, index + 1)
        cv2.imwrite(str(tmp_path / f"scene-{index}.png"), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
        rows.append(LabelRow(f"scene-{index}.png", hour, minute, None, "analog"))
    write_labels(tmp_path, rows)
    found, whole = StringIO(), StringIO()
    call_command("eval_reader", str(tmp_path), "--json", stdout=found, stderr=StringIO())
    call_command("eval_reader", str(tmp_path), "--json", "--as-given", stdout=whole)
    assert json.loads(found.getvalue())["top1"] == 1.0
    assert json.loads(whole.getvalue())["top1"] < 1.0, "read whole, a small clock in a scene is lost"


def test_read_clock_without_a_box_finds_the_clock_in_a_scene_and_reads_a_close_crop_whole(tmp_path):
    scene, truth = _scene(4, 37, 2)
    close, _ = _scene(3, 40, 4, size=150, width=160, height=160)
    for name, picture in (("scene.png", scene), ("close.png", close)):
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    out = StringIO()
    call_command("read_clock", str(tmp_path / "scene.png"), str(tmp_path / "close.png"), "--json", stdout=out,
                 stderr=StringIO())  # fmt: skip
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    in_scene = [record for record in records if record["image"].endswith("scene.png")]
    assert in_scene and in_scene[0]["bbox"] is not None
    assert minutes_apart(4, 37, in_scene[0]["hour"], in_scene[0]["minute"]) <= 1, in_scene[0]
    x, y, width, height = in_scene[0]["bbox"]
    assert abs(x + width / 2 - (truth.x + truth.width / 2)) < truth.width / 2
    assert abs(y + height / 2 - (truth.y + truth.height / 2)) < truth.height / 2
    [in_close] = [record for record in records if record["image"].endswith("close.png")]
    assert in_close["bbox"] is None and minutes_apart(3, 40, in_close["hour"], in_close["minute"]) <= 1, in_close


@pytest.mark.parametrize(("hour", "minute", "seed"), [(10, 10, 1), (4, 37, 2), (8, 20, 3), (1, 52, 5)])
def test_a_loosely_drawn_box_is_read_zoomed_in(models, hour, minute, seed):
    """A box twice the clock's size, as drawn around a whole clock case: read as given the dial is
    small in the crop; zoomed in on the box's centre it is read right."""
    _, reader = models
    picture, truth = _scene(hour, minute, seed, size=110)
    loose = Box(truth.x - truth.width / 2, truth.y - truth.height / 2, truth.width * 2, truth.height * 2)
    [reading] = read_in_boxes(reader.read_clocks, [picture], [loose])
    assert minutes_apart(hour, minute, reading.hour, reading.minute) <= 1, reading
    [as_given] = reader.read_clocks([picture], [loose])
    assert reading.confidence >= as_given.confidence


def test_a_tight_box_keeps_its_reading_unless_a_zoom_is_surer(models):
    _, reader = models
    picture, truth = _scene(7, 25, 6)
    [reading] = read_in_boxes(reader.read_clocks, [picture], [truth])
    [as_given] = reader.read_clocks([picture], [truth])
    assert reading == as_given or reading.confidence > as_given.confidence + 0.05
    assert read_in_boxes(reader.read_clocks, [], []) == []


def test_a_display_is_never_zoomed_in_on():
    """Zooming into a display cuts off its outer digits; what is left may read surer, and wrong."""
    from pipeline.read.reader import Reading

    asked: list[list[Box | None]] = []

    def read(images, boxes):
        asked.append(boxes)
        zoomed = len(asked) > 1  # the given box is read first
        shown = (
            Reading(11, 54, "unknown", 0.99, "digital", "ocr")
            if zoomed
            else Reading(1, 54, "unknown", 0.6, "digital", "ocr")
        )
        return [shown for _ in boxes]

    picture = np.zeros((100, 300, 3), np.uint8)
    [reading] = read_in_boxes(read, [picture], [Box(20, 20, 200, 60)])
    assert (reading.hour, reading.minute) == (1, 54)
    assert len(asked) == 1, "a display is read in its box only"
