"""Training the display recognizer on rendered displays (see clocks.display_sample), cached under var/."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pipeline.clock_time import minutes_apart
from pipeline.read.checkpoints import load_checkpoint
from pipeline.read.display_reader import (
    DISPLAY_SIZE,
    MARKERS,
    DisplayReaderNet,
    decode_display,
    digit_class,
    display_probabilities,
    to_display_tensor,
)
from pipeline.synth.clocks import RENDER_VERSION, display_sample
from pipeline.synth.datasets import render_cached
from pipeline.synth.reader_training import TrainingRecord


def _render_chunk(args: tuple[int, int, int]) -> dict[str, np.ndarray]:
    seed, start, count = args
    images, places, markers, hours, minutes = [], [], [], [], []
    for index in range(start, start + count):
        sample = display_sample(np.random.default_rng([seed, index]), DISPLAY_SIZE)
        images.append(sample.image)
        places.append([digit_class(char) for char in sample.text])
        markers.append(MARKERS.index(sample.marker))
        hours.append(sample.time.hour)
        minutes.append(sample.time.minute)
    return {"images": np.stack(images), "places": np.array(places), "marker": np.array(markers),
            "hour": np.array(hours), "minute": np.array(minutes)}  # fmt: skip


def render_display_set(seed: int, count: int, cache_dir: Path, *, workers: int = 2,
                       progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    width, height = DISPLAY_SIZE
    cache = cache_dir / f"display-r{RENDER_VERSION}-seed{seed}-n{count}-{width}x{height}.npz"
    return render_cached(cache, _render_chunk, seed, count, workers=workers, progress=progress)


def _loss(outputs: dict[str, torch.Tensor], places: torch.Tensor, marker: torch.Tensor) -> torch.Tensor:
    cross_entropy = nn.functional.cross_entropy
    place_loss = cross_entropy(outputs["places"].reshape(-1, outputs["places"].shape[-1]), places.reshape(-1))
    return place_loss * places.shape[1] + cross_entropy(outputs["marker"], marker) * 0.5


def train_display_reader(train: dict[str, np.ndarray], validation: dict[str, np.ndarray], *, seed: int, epochs: int,
                         batch_size: int = 128, width: int = 32, learning_rate: float = 3e-3,
                         initial: Path | None = None,
                         save: Callable[[DisplayReaderNet, TrainingRecord], None] | None = None,
                         log: Callable[[str], None] = print,
                         ) -> tuple[DisplayReaderNet, TrainingRecord]:  # fmt: skip
    """Train for `epochs` over the rendered set, from `initial`'s weights (a display checkpoint:
    its width is kept) or afresh. After each epoch that validates better than any before,
    `save(model, record)` is called, so a long run leaves its best epoch behind as it goes.
    Returns the model of the last epoch and its record."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if initial is not None:
        model, _ = load_checkpoint(initial, DisplayReaderNet, device="cpu")  # each epoch sets train mode
    else:
        model = DisplayReaderNet(width)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    count = len(train["images"])
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=learning_rate, total_steps=epochs * math.ceil(count / batch_size), pct_start=0.15
    )
    started = time.monotonic()
    loss_value, best = float("nan"), -1.0

    def record(validation_scores: dict[str, float]) -> TrainingRecord:
        return TrainingRecord(
            seed=seed, train_count=count, epochs=epochs, batch_size=batch_size, width=model.width,
            learning_rate=learning_rate, seconds=round(time.monotonic() - started), final_loss=round(loss_value, 4),
            validation=validation_scores, initial_checkpoint=str(initial) if initial else None,
        )  # fmt: skip

    for epoch in range(epochs):
        model.train()
        total, seen = 0.0, 0
        order = rng.permutation(count)
        for start in range(0, count, batch_size):
            chosen = order[start : start + batch_size]
            outputs = model(to_display_tensor(list(train["images"][chosen])))
            loss = _loss(outputs, torch.from_numpy(train["places"][chosen]).long(),
                         torch.from_numpy(train["marker"][chosen]).long())  # fmt: skip
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(chosen)
            seen += len(chosen)
        loss_value = total / seen
        scores = evaluate_display(model, validation)
        log(f"epoch {epoch + 1}/{epochs}: loss {loss_value:.3f}, validation {json.dumps(scores)}, "
            f"{time.monotonic() - started:.0f} s")  # fmt: skip
        if save is not None and scores["top1"] > best:
            best = scores["top1"]
            save(model, dataclasses.replace(record(scores), epochs=epoch + 1))
    return model, record(evaluate_display(model, validation))


@torch.no_grad()
def evaluate_display(model: DisplayReaderNet, data: dict[str, np.ndarray], batch_size: int = 256) -> dict[str, float]:
    """top1 as eval_reader counts it (hour exact on the 12-hour dial, minute within ±1), exact
    readings, and how often the marker head's likeliest class is the right one (what it learns;
    the reader takes a marker only where the head is sure of it, MARKER_SURE)."""
    model.eval()
    readings, likeliest_markers = [], []
    for start in range(0, len(data["images"]), batch_size):
        places, markers = display_probabilities(model, list(data["images"][start : start + batch_size]))
        readings += [decode_display(places[i], markers[i]) for i in range(len(places))]
        likeliest_markers += list(markers.argmax(1))
    hour = np.array([reading.hour for reading in readings])
    minute = np.array([reading.minute for reading in readings])
    marker = np.array(likeliest_markers)
    same_hour = hour % 12 == data["hour"] % 12
    return {
        "n": len(readings),
        "top1": round(float(np.mean(minutes_apart(hour, minute, data["hour"], data["minute"]) <= 1)), 4),
        "exact": round(float(np.mean(same_hour & (minute == data["minute"]))), 4),
        "marker_acc": round(float(np.mean(marker == data["marker"])), 4),
    }
