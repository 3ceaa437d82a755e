"""Training the clock reader on rendered crops: data sets cached under var/, reproducible by seed."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pipeline.clock_time import minutes_apart
from pipeline.read.checkpoints import load_checkpoint
from pipeline.read.reader_model import INPUT_SIZE, MERIDIEMS, ClockReaderNet, to_tensor
from pipeline.synth.clocks import RENDER_VERSION, ReaderSample, reader_sample
from pipeline.synth.datasets import DIGITAL_SHARE, render_cached

# Nearly frontal, lightly damaged crops in the training mix (see clocks.reader_sample).
CLEAN_SHARE = 0.2


def meridiem_label(sample: ReaderSample) -> int:
    """What the display itself says of AM/PM: a marker, or a 24-hour reading that can only be one
    of them. A 12-hour display without a marker says nothing, whatever the hour behind it."""
    if sample.kind != "digital":
        return MERIDIEMS.index("unknown")
    hour = sample.time.hour
    if sample.shows_meridiem or (sample.twenty_four_hour and (hour >= 13 or hour == 0)):
        return MERIDIEMS.index("pm" if hour >= 12 else "am")
    return MERIDIEMS.index("unknown")


@dataclass(frozen=True)
class ReaderSet:
    images: np.ndarray  # N x 64 x 64 x 3 uint8
    kind: np.ndarray
    hour: np.ndarray  # 0-11 (12 o'clock is 0)
    minute: np.ndarray
    meridiem: np.ndarray

    def __len__(self) -> int:
        return len(self.images)


def _render_chunk(args: tuple[int, int, int]) -> dict[str, np.ndarray]:
    seed, start, count = args
    images, kind, hour, minute, meridiem = [], [], [], [], []
    for index in range(start, start + count):
        # One generator per sample: the set is the same whatever the number of workers.
        rng = np.random.default_rng([seed, index])
        sample = reader_sample(rng, INPUT_SIZE, digital_share=DIGITAL_SHARE, clean_share=CLEAN_SHARE)
        images.append(sample.image)
        kind.append(0 if sample.kind == "analog" else 1)
        hour.append(sample.time.hour % 12)
        minute.append(sample.time.minute)
        meridiem.append(meridiem_label(sample))
    return {"images": np.stack(images), "kind": np.array(kind), "hour": np.array(hour),
            "minute": np.array(minute), "meridiem": np.array(meridiem)}  # fmt: skip


def render_reader_set(seed: int, count: int, cache_dir: Path, *, workers: int = 2,
                      progress: Callable[[int], None] | None = None) -> ReaderSet:  # fmt: skip
    """Render (or load from the cache) `count` labelled crops from `seed`."""
    shares = f"digital{round(DIGITAL_SHARE * 100)}-clean{round(CLEAN_SHARE * 100)}"
    cache = cache_dir / f"reader-r{RENDER_VERSION}-seed{seed}-n{count}-s{INPUT_SIZE}-{shares}.npz"
    return ReaderSet(**render_cached(cache, _render_chunk, seed, count, workers=workers, progress=progress))


@dataclass(frozen=True)
class TrainingRecord:
    seed: int
    train_count: int
    epochs: int
    batch_size: int
    width: int
    learning_rate: float
    seconds: float
    final_loss: float
    validation: dict[str, float]
    initial_checkpoint: str | None = None


def _losses(outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor:
    cross_entropy = nn.functional.cross_entropy
    # Minutes are circular and ±1 is still right, so a little of the target goes to the neighbours.
    minute_target = torch.zeros_like(outputs["minute"])
    index = batch["minute"]
    minute_target.scatter_(1, index[:, None], 0.8)
    minute_target.scatter_add_(1, ((index + 1) % 60)[:, None], torch.full_like(minute_target[:, :1], 0.1))
    minute_target.scatter_add_(1, ((index - 1) % 60)[:, None], torch.full_like(minute_target[:, :1], 0.1))
    minute_loss = -(minute_target * outputs["minute"].log_softmax(1)).sum(1).mean()
    return (
        cross_entropy(outputs["kind"], batch["kind"]) * 0.3
        + cross_entropy(outputs["hour"], batch["hour"])
        + minute_loss
        + cross_entropy(outputs["meridiem"], batch["meridiem"]) * 0.3
    )


def _batch(data: ReaderSet, chosen: np.ndarray) -> dict[str, torch.Tensor]:
    labels = {
        key: torch.from_numpy(getattr(data, key)[chosen]).long() for key in ("kind", "hour", "minute", "meridiem")
    }
    return {"images": to_tensor(list(data.images[chosen])), **labels}


def train_reader(train: ReaderSet, validation: ReaderSet, *, seed: int, epochs: int, batch_size: int = 128,
                 width: int = 32, learning_rate: float = 3e-3, log: Callable[[str], None] = print,
                 initial: Path | None = None) -> tuple[ClockReaderNet, TrainingRecord]:  # fmt: skip
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = ClockReaderNet(width) if initial is None else load_checkpoint(initial, ClockReaderNet, device="cpu")[0]
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    steps = epochs * math.ceil(len(train) / batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=steps, pct_start=0.15)
    started = time.monotonic()
    loss_value = float("nan")
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(train))
        total, seen = 0.0, 0
        for start in range(0, len(order), batch_size):
            batch = _batch(train, order[start : start + batch_size])
            loss = _losses(model(batch["images"]), batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch["kind"])
            seen += len(batch["kind"])
        loss_value = total / seen
        scores = evaluate(model, validation)
        log(f"epoch {epoch + 1}/{epochs}: loss {loss_value:.3f}, validation {json.dumps(scores)}, "
            f"{time.monotonic() - started:.0f} s")  # fmt: skip
    record = TrainingRecord(
        seed=seed, train_count=len(train), epochs=epochs, batch_size=batch_size, width=model.width,
        learning_rate=learning_rate, seconds=round(time.monotonic() - started), final_loss=round(loss_value, 4),
        validation=evaluate(model, validation), initial_checkpoint=str(initial) if initial else None,
    )  # fmt: skip
    return model, record


@torch.no_grad()
def predict(model: ClockReaderNet, images: list[np.ndarray], batch_size: int = 256) -> dict[str, np.ndarray]:
    """Probabilities per head for RGB uint8 crops of INPUT_SIZE."""
    model.eval()
    chunks: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(images), batch_size):
        outputs = model(to_tensor(images[start : start + batch_size]))
        for key, logits in outputs.items():
            chunks.setdefault(key, []).append(logits.softmax(1).numpy())
    return {key: np.concatenate(parts) for key, parts in chunks.items()}


def evaluate(model: ClockReaderNet, data: ReaderSet) -> dict[str, float]:
    probabilities = predict(model, list(data.images))
    hour = probabilities["hour"].argmax(1)
    minute = probabilities["minute"].argmax(1)
    minute_error = np.minimum(np.abs(minute - data.minute) % 60, 60 - np.abs(minute - data.minute) % 60)
    return {
        "n": len(data),
        "top1": round(float(np.mean(minutes_apart(hour, minute, data.hour, data.minute) <= 1)), 4),
        "hour_acc": round(float(np.mean(hour == data.hour)), 4),
        "minute_acc": round(float(np.mean(minute_error <= 1)), 4),
        "kind_acc": round(float(np.mean(probabilities["kind"].argmax(1) == data.kind)), 4),
        "meridiem_acc": round(float(np.mean(probabilities["meridiem"].argmax(1) == data.meridiem)), 4),
    }
