"""Training the display recognizer: a warm start from a checkpoint, and the best epoch kept."""

from __future__ import annotations

from pathlib import Path

import torch

from pipeline.read.checkpoints import load_checkpoint, save_checkpoint
from pipeline.read.display_reader import DisplayReaderNet
from pipeline.synth.display_training import _render_chunk, evaluate_display, train_display_reader


def _tiny_sets() -> tuple[dict, dict]:
    return _render_chunk((5, 0, 48)), _render_chunk((6, 0, 16))


def test_a_warm_start_keeps_the_checkpoints_width_and_begins_from_its_weights(tmp_path: Path) -> None:
    train, validation = _tiny_sets()
    start, start_record = train_display_reader(train, validation, seed=1, epochs=1, batch_size=16, width=8,
                                               log=lambda line: None)  # fmt: skip
    initial = tmp_path / "start.pt"
    save_checkpoint(start, start_record, initial, "test")
    # Asked for width 16, it keeps the checkpoint's 8: the weights only fit that network.
    warm, record = train_display_reader(train, validation, seed=2, epochs=1, batch_size=16, width=16,
                                        learning_rate=1e-9, initial=initial, log=lambda line: None)  # fmt: skip
    assert warm.width == 8 and record.width == 8
    assert record.initial_checkpoint == str(initial)
    loaded, _ = load_checkpoint(initial, DisplayReaderNet, device="cpu")
    # At a vanishing learning rate the convolutions stay where the checkpoint left them (the batch
    # norm statistics move with the data, so only the weights are compared).
    first = "trunk.0.0.weight"
    assert torch.allclose(warm.state_dict()[first], loaded.state_dict()[first], atol=1e-3)
    fresh = DisplayReaderNet(8)
    assert not torch.allclose(fresh.state_dict()[first], loaded.state_dict()[first], atol=1e-3)


def test_only_epochs_that_validate_better_than_every_one_before_are_saved() -> None:
    train, validation = _tiny_sets()
    saved: list[tuple[int, float]] = []
    scores: list[float] = []

    def log(line: str) -> None:
        scores.append(float(line.split('"top1": ')[1].split(",")[0]))

    def save(model: DisplayReaderNet, record: object) -> None:
        saved.append((record.epochs, record.validation["top1"]))

    train_display_reader(train, validation, seed=3, epochs=4, batch_size=16, width=8, log=log, save=save)
    assert len(scores) == 4
    expected, best = [], -1.0
    for epoch, top1 in enumerate(scores, start=1):
        if top1 > best:
            best = top1
            expected.append((epoch, top1))
    assert saved == expected


class _UnsureOfTheMarker(torch.nn.Module):
    """A recognizer that sees "2105" and leans to the marker class `lean` at 0.5: less than the
    reader needs to take a marker (MARKER_SURE)."""

    def __init__(self, lean: int) -> None:
        super().__init__()
        self.lean = lean

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        places = torch.full((len(images), 4, 11), -20.0)
        for place, digit in enumerate("2105"):
            places[:, place, int(digit) + 1] = 20.0
        marker = torch.zeros(len(images), 3)
        marker[:, self.lean] = 1.0  # softmax 0.58 against 0.21 each
        return {"places": places, "marker": marker}


def test_validation_counts_the_marker_heads_likeliest_class_even_where_the_reader_would_not_take_it():
    validation = _render_chunk((6, 0, 8))
    validation["marker"][:] = 2  # every display shows "pm"
    assert evaluate_display(_UnsureOfTheMarker(lean=2), validation)["marker_acc"] == 1.0
    assert evaluate_display(_UnsureOfTheMarker(lean=1), validation)["marker_acc"] == 0.0
