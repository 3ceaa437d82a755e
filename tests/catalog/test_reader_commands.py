"""The reader's commands as a curator runs them: eval_reader's details and kinds, read_clock's
debug picture, and train_reader fine-tuning, validating and resuming on a tiny real-like set."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from django.core.management import call_command
from django.core.management.base import CommandError

from pipeline.labels import LabelRow, write_labels
from pipeline.synth.clocks import DrawnTime, draw_analog, random_analog_style, random_background


def _clock_photo(path: Path, hour: int, minute: int, seed: int, size: int = 160) -> None:
    rng = np.random.default_rng(seed)
    canvas = random_background(rng, size, size)
    clock = draw_analog(DrawnTime(hour, minute, 0), random_analog_style(rng), size - 16, rng).image
    alpha = clock[..., 3:4] / 255
    canvas[8:-8, 8:-8] = (canvas[8:-8, 8:-8] * (1 - alpha) + clock[..., :3] * alpha).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))


@pytest.fixture
def labelled(tmp_path) -> Path:
    folder = tmp_path / "set"
    rows = []
    for index, (hour, minute) in enumerate([(10, 10), (3, 40), (7, 5)]):
        _clock_photo(folder / f"clock-{index}.png", hour, minute, seed=index)
        rows.append(LabelRow(f"clock-{index}.png", hour, minute, None, "analog"))
    write_labels(folder, rows)
    return folder


def test_eval_reader_lists_every_image_and_splits_the_kinds(labelled):
    out = StringIO()
    call_command("eval_reader", str(labelled), "--json", "--details", "--by-kind", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    details, scores = lines[:-1], lines[-1]
    assert [detail["file"] for detail in details] == ["clock-0.png", "clock-1.png", "clock-2.png"]
    assert {"truth", "reading", "confidence", "kind", "method", "right"} <= set(details[0])
    assert details[0]["truth"] == "10:10"
    assert scores["n"] == 3 and scores["analog"]["n"] == 3 and scores["digital"]["n"] == 0
    assert scores["top1"] == round(sum(detail["right"] for detail in details) / 3, 4)
    sure = [detail for detail in details if detail["confidence"] >= scores["threshold"]]
    assert scores["share_above_threshold"] == round(len(sure) / 3, 4)


def test_read_clock_draws_the_hands_it_found(labelled, tmp_path):
    out = StringIO()
    picture = tmp_path / "debug" / "read.png"
    call_command("read_clock", str(labelled / "clock-0.png"), "--bbox", "0,0,160,160", "--json", "--debug",
                 str(picture), stdout=out, stderr=StringIO())  # fmt: skip
    reading = json.loads(out.getvalue())
    image = cv2.imread(str(picture))
    assert image is not None and image.shape[0] == image.shape[1] >= 256
    assert reading["kind"] in {"analog", "digital"} and 0 <= reading["confidence"] <= 1
    # The committed reader reads the dial's tilt: its 12 is drawn, green, with its ring of ticks.
    green = np.all(np.abs(image.astype(int) - (80, 220, 80)) < 30, axis=2)
    assert int(green.sum()) > 30


@pytest.fixture
def tiny_real_data(tmp_path) -> tuple[Path, Path]:
    """A real-clocks tree in the layout of ../shared/data (cv2024-style folders and irsural-style
    names) and a folder of clockless photographs, all rendered here."""
    real = tmp_path / "real-clocks"
    drawn = real / "cv2024-fake-hands" / "data_analog_clocks" / "real_staright_images" / "fake_hands"
    for index, (hour, minute) in enumerate([(10, 10), (3, 40), (7, 5), (12, 30)]):
        _clock_photo(drawn / f"{hour}-{minute:02d}" / f"{index}.jpg", hour, minute, seed=10 + index)
    for index, (hour, minute) in enumerate([(2, 37), (9, 15)]):
        _clock_photo(real / "irsural" / f"{hour:02d}-{minute:02d}-00.000.png", hour, minute, seed=20 + index)
    backgrounds = tmp_path / "backgrounds"
    backgrounds.mkdir()
    for index in range(12):
        image = random_background(np.random.default_rng(100 + index), 200, 150)
        cv2.imwrite(str(backgrounds / f"{index:03d}.jpg"), image)
    return real, backgrounds


def test_train_reader_fine_tunes_validates_and_resumes(tiny_real_data, tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    real, backgrounds = tiny_real_data
    out = tmp_path / "reader.pt"
    common = ["--real-clocks", str(real), "--backgrounds", str(backgrounds), "--validation",
              str(tmp_path / "validation"), "--batch-size", "4", "--eval-every", "1", "--out", str(out)]  # fmt: skip
    log = StringIO()
    call_command("train_reader", "--seed", "3", "--steps", "2", *common, stdout=log)
    entries = [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]
    assert [entry["step"] for entry in entries[:2]] == [1, 2]
    assert entries[0]["n"] == 2, "the irsural-style photographs are the validation split"
    saved = torch.load(out, weights_only=False)
    assert saved["architecture"] == "efficientnet-lite0-hands-tilt-squeeze-seconds", "new runs read every head"
    assert "--seed 3" in saved["command"]
    state = tmp_path / "var" / "train_reader" / "reader.pt.state"
    assert state.exists() and not out.with_name("reader.pt.state").exists(), "the 50 MB state stays under var/"
    log = StringIO()
    call_command("train_reader", "--seed", "3", "--steps", "3", "--init", str(state), *common, stdout=log)
    resumed = [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]
    assert resumed[0]["step"] == 3, "--init continues the run at the step it stopped"
    assert torch.load(state, weights_only=False)["step"] == 3


def test_train_reader_starts_the_newest_reader_from_an_older_one(tiny_real_data, tmp_path, settings):
    from pipeline.read.checkpoints import save_checkpoint
    from pipeline.read.hand_net import HandReaderNet
    from pipeline.read.reader import ClockReader
    from pipeline.synth.hand_training import TrainingRecord

    settings.VAR_DIR = tmp_path / "var"
    real, backgrounds = tiny_real_data
    older = HandReaderNet(pretrained=False, reads_tilt=False)
    record = TrainingRecord(1, 0, 4, 1e-4, 0, 0, {}, 0)
    save_checkpoint(older, record, tmp_path / "older.pt", "python manage.py train_reader --seed 1")
    assert ClockReader(tmp_path / "older.pt").hands, "a checkpoint of the older kind still reads"
    out = tmp_path / "reader.pt"
    call_command("train_reader", "--seed", "3", "--steps", "1", "--real-clocks", str(real), "--backgrounds",
                 str(backgrounds), "--validation", str(tmp_path / "validation"), "--batch-size", "4",
                 "--init", str(tmp_path / "older.pt"), "--new-heads", "--learning-rate", "1e-9", "--out", str(out),
                 stdout=StringIO())  # fmt: skip
    saved = torch.load(out, weights_only=False)
    assert saved["architecture"] == "efficientnet-lite0-hands-tilt-squeeze-seconds"
    assert "--new-heads" in saved["command"]
    assert {"up.weight", "squeeze.weight", "second_hand.weight"} <= set(saved["state_dict"]), "new heads start afresh"
    kept = older.state_dict()["minute.weight"].half().float()
    assert torch.allclose(saved["state_dict"]["minute.weight"].float(), kept, atol=1e-3), "the rest is carried over"
    # A reader of the tilt (the kind before the squeeze) still reads, and seeds the new kind with its tilt head.
    tilt = HandReaderNet(pretrained=False, reads_squeeze=False, reads_seconds=False)
    save_checkpoint(tilt, record, tmp_path / "tilt.pt", "python manage.py train_reader --seed 1")
    assert "squeeze" not in ClockReader(tmp_path / "tilt.pt").probabilities([np.zeros((112, 112, 3), np.uint8)])
    call_command("train_reader", "--seed", "3", "--steps", "1", "--real-clocks", str(real), "--backgrounds",
                 str(backgrounds), "--validation", str(tmp_path / "validation"), "--batch-size", "4",
                 "--init", str(tmp_path / "tilt.pt"), "--new-heads", "--learning-rate", "1e-9", "--out", str(out),
                 stdout=StringIO())  # fmt: skip
    saved = torch.load(out, weights_only=False)
    kept = tilt.state_dict()["up.weight"].half().float()
    assert torch.allclose(saved["state_dict"]["up.weight"].float(), kept, atol=1e-3), "the tilt head is carried over"
    assert "squeeze.weight" in saved["state_dict"]
    # Only the heads named are added: the second hand's beside the tilt, no squeeze.
    call_command("train_reader", "--seed", "3", "--steps", "1", "--real-clocks", str(real), "--backgrounds",
                 str(backgrounds), "--validation", str(tmp_path / "validation"), "--batch-size", "4",
                 "--init", str(tmp_path / "tilt.pt"), "--new-heads", "second_hand", "--learning-rate", "1e-9",
                 "--out", str(out), stdout=StringIO())  # fmt: skip
    saved = torch.load(out, weights_only=False)
    assert saved["architecture"] == "efficientnet-lite0-hands-tilt-seconds"
    assert "second_hand.weight" in saved["state_dict"] and "squeeze.weight" not in saved["state_dict"]
    reading = ClockReader(out).read([np.zeros((112, 112, 3), np.uint8)])[0]
    assert 0.0 <= reading.confidence <= 1.0


def test_train_reader_trains_the_network_its_checkpoint_holds_unless_asked_for_new_heads(tiny_real_data, tmp_path,
                                                                                         settings):  # fmt: skip
    """A warm restart from a reader without the squeeze head trains that reader: a head started
    afresh misleads the decode until it has learned (models/README.md, run 21)."""
    from pipeline.read.checkpoints import save_checkpoint
    from pipeline.read.hand_net import HandReaderNet
    from pipeline.synth.hand_training import TrainingRecord

    settings.VAR_DIR = tmp_path / "var"
    real, backgrounds = tiny_real_data
    tilt = HandReaderNet(pretrained=False, reads_squeeze=False, reads_seconds=False)
    save_checkpoint(tilt, TrainingRecord(1, 0, 4, 1e-4, 0, 0, {}, 0), tmp_path / "tilt.pt", "python manage.py x")
    out = tmp_path / "reader.pt"
    common = ["--seed", "3", "--steps", "2", "--real-clocks", str(real), "--backgrounds", str(backgrounds),
              "--validation", str(tmp_path / "validation"), "--batch-size", "4", "--out", str(out),
              "--init", str(tmp_path / "tilt.pt")]  # fmt: skip
    call_command("train_reader", *common, stdout=StringIO())
    saved = torch.load(out, weights_only=False)
    assert saved["architecture"] == "efficientnet-lite0-hands-tilt"
    assert "squeeze.weight" not in saved["state_dict"] and "up.weight" in saved["state_dict"]
    state = tmp_path / "var" / "train_reader" / "reader.pt.state"
    # Resumed with two loader processes, as beside a GPU (each draws its own samples).
    call_command("train_reader", *common[:-1], str(state), "--steps", "3", "--workers", "2", stdout=StringIO())
    resumed = torch.load(state, weights_only=False)
    assert resumed["step"] == 3 and "squeeze.weight" not in resumed["model"], "a resumed run keeps its network"
    not_a_reader = tmp_path / "other.pt"
    torch.save({"state_dict": {"something.weight": torch.zeros(2)}, "architecture": "polar"}, not_a_reader)
    with pytest.raises(ValueError, match="does not hold a hand reader"):
        call_command("train_reader", "--seed", "3", "--steps", "1", "--real-clocks", str(real), "--backgrounds",
                     str(backgrounds), "--validation", str(tmp_path / "validation"), "--init", str(not_a_reader),
                     "--out", str(out), stdout=StringIO())  # fmt: skip


def test_train_reader_says_what_is_missing(tmp_path):
    with pytest.raises(CommandError, match="real clock photographs"):
        call_command("train_reader", "--real-clocks", str(tmp_path / "nowhere"), "--steps", "1")


def test_train_reader_trains_on_what_curators_reviewed(tiny_real_data, tmp_path, settings):
    """export_reviewed's folder feeds train_reader --reviewed: its clocks are counted, the run is
    recorded with it, and a folder that is not one says so."""
    settings.VAR_DIR = tmp_path / "var"
    real, backgrounds = tiny_real_data
    reviewed = tmp_path / "reviewed"
    _clock_photo(reviewed / "video1-reading1.jpg", 4, 20, seed=30)
    _clock_photo(reviewed / "video1-reading2.jpg", 8, 45, seed=31)
    write_labels(reviewed, [LabelRow("video1-reading1.jpg", 4, 20, (8, 8, 144, 144), "analog"),
                            LabelRow("video1-reading2.jpg", 20, 45, (8, 8, 144, 144), "analog"),
                            LabelRow("video1-reading3.jpg", 9, 15, (8, 8, 144, 144), "analog")])  # fmt: skip
    out = tmp_path / "reader.pt"
    common = ["--seed", "3", "--steps", "1", "--real-clocks", str(real), "--backgrounds", str(backgrounds),
              "--validation", str(tmp_path / "validation"), "--batch-size", "4", "--out", str(out)]  # fmt: skip
    log = StringIO()
    call_command("train_reader", *common, "--reviewed", str(reviewed), stdout=log)
    assert "2 reviewed clocks and 0 reviewed displays" in log.getvalue()
    assert "left out (no time, box, frame or kind): 1" in log.getvalue(), "the row whose frame is missing"
    assert f"--reviewed {reviewed}" in torch.load(out, weights_only=False)["command"]
    with pytest.raises(CommandError, match=r"--reviewed: .*labels\.csv not found"):
        call_command("train_reader", *common, "--reviewed", str(tmp_path / "nowhere"), stdout=StringIO())


def _saved_reader(path: Path, seed: int, *, squeeze: bool = False) -> dict[str, torch.Tensor]:
    from pipeline.read.checkpoints import save_checkpoint
    from pipeline.read.hand_net import HandReaderNet
    from pipeline.synth.hand_training import TrainingRecord

    torch.manual_seed(seed)
    network = HandReaderNet(pretrained=False, reads_squeeze=squeeze, reads_seconds=False)
    save_checkpoint(network, TrainingRecord(seed, 0, 4, 1e-4, 0, 0, {"top1": 0.5}, 0), path,
                    f"python manage.py train_reader --seed {seed}")  # fmt: skip
    return torch.load(path, weights_only=False)["state_dict"]


def test_average_checkpoints_writes_the_mean_of_the_weights_as_a_reader_that_reads(tmp_path):
    from pipeline.read.reader import ClockReader

    first, second = _saved_reader(tmp_path / "a.pt", 1), _saved_reader(tmp_path / "b.pt", 2)
    out = tmp_path / "soup" / "reader.pt"
    log = StringIO()
    call_command("average_checkpoints", str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), "--out", str(out), stdout=log)
    assert "the mean of 2 checkpoints" in log.getvalue()
    saved = torch.load(out, weights_only=False)
    for key in ("minute.weight", "backbone.net._conv_stem.weight"):
        mean = (first[key].float() + second[key].float()) / 2
        assert not torch.allclose(first[key].float(), second[key].float()), "the two differ"
        assert torch.allclose(saved["state_dict"][key].float(), mean, atol=1e-3)
    assert saved["architecture"] == "efficientnet-lite0-hands-tilt"
    assert [item["command"] for item in saved["record"]["averaged"]] == [
        "python manage.py train_reader --seed 1", "python manage.py train_reader --seed 2"]  # fmt: skip
    assert saved["command"].startswith("python manage.py average_checkpoints ")
    reading = ClockReader(out).read([np.zeros((112, 112, 3), np.uint8)])[0]
    assert 0.0 <= reading.confidence <= 1.0


def test_average_checkpoints_refuses_what_does_not_average(tmp_path):
    _saved_reader(tmp_path / "tilt.pt", 1)
    _saved_reader(tmp_path / "squeeze.pt", 2, squeeze=True)
    (tmp_path / "text.pt").write_text("not a checkpoint")
    out = tmp_path / "out.pt"
    with pytest.raises(CommandError, match="only checkpoints of one network average"):
        call_command("average_checkpoints", str(tmp_path / "tilt.pt"), str(tmp_path / "squeeze.pt"), "--out", str(out))
    with pytest.raises(CommandError, match=r"text\.pt is not a checkpoint"):
        call_command("average_checkpoints", str(tmp_path / "tilt.pt"), str(tmp_path / "text.pt"), "--out", str(out))
    with pytest.raises(CommandError, match="at least two"):
        call_command("average_checkpoints", str(tmp_path / "tilt.pt"), "--out", str(out))
    with pytest.raises(CommandError, match=r"nowhere\.pt not found"):
        call_command("average_checkpoints", str(tmp_path / "tilt.pt"), str(tmp_path / "nowhere.pt"), "--out", str(out))
    assert not out.exists(), "nothing half-written"
