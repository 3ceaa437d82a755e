"""Checkpoints of the networks clockweb trains itself (the clock reader, the display recognizer):
one format, written and read in one place."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from pipeline.geometry import best_device

Net = TypeVar("Net", bound=nn.Module)


def save_checkpoint(model: nn.Module, record: Any, path: Path, command: str) -> None:
    """Weights (half precision halves the file; loading converts back), the training record
    (a dataclass) and the command that trained them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # On the CPU whatever device trained them, so that any machine loads them.
    state = {key: (value.half() if value.is_floating_point() else value).detach().cpu()
             for key, value in model.state_dict().items()}  # fmt: skip
    architecture = getattr(model, "architecture", "polar")
    torch.save({"state_dict": state, "width": record.width, "record": asdict(record), "command": command,
                "architecture": architecture}, path)  # fmt: skip


def _architecture(saved: dict) -> str:
    """The network a saved checkpoint holds (those saved before the name was recorded are "polar")."""
    return saved.get("architecture", "polar")


def load_checkpoint(path: str | Path, build: Callable[[int], Net] | Mapping[str, Callable[[int], Net]], *,
                    device: str | None = None) -> tuple[Net, dict]:  # fmt: skip
    """The network `build(width)` with the saved weights, in eval mode on `device` (CUDA when
    present if None), and the whole saved dictionary. `build` may map architecture names to
    builders, for a path that can hold more than one kind of network (checkpoints saved before
    the name was recorded are "polar")."""
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(build, Mapping):
        architecture = _architecture(saved)
        if architecture not in build:
            raise ValueError(f"{path} holds a {architecture!r} network; expected one of {', '.join(build)}")
        build = build[architecture]
    model = build(saved["width"])
    model.load_state_dict({key: value.float() for key, value in saved["state_dict"].items()})
    model.to(device or best_device()).eval()
    return model, saved


def average_checkpoints(paths: Sequence[Path], out: Path, command: str) -> None:
    """Write at `out` the mean of the weights of `paths` (a "model soup"): checkpoints of one
    network fine-tuned from one start lie in one basin, where their mean reads better than each
    alone at the cost of one network (models/README.md, reader.pt). Counters that are not weights
    (BatchNorm's batch counts) are taken from the first. The record lists what was averaged."""
    if len(paths) < 2:
        raise ValueError("average at least two checkpoints")
    saved = []
    for path in paths:
        try:
            item = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as error:  # torch raises a different error for each way a file is not a checkpoint
            raise ValueError(f"{path} is not a checkpoint: {error}") from None
        if not isinstance(item, dict) or "state_dict" not in item:
            raise ValueError(f"{path} is not a checkpoint (a run's .state file is not one either)")
        saved.append(item)
    first, architecture = saved[0]["state_dict"], _architecture(saved[0])
    for path, item in zip(paths[1:], saved[1:], strict=True):
        if _architecture(item) != architecture:
            raise ValueError(f"{path} holds a {_architecture(item)!r} network and {paths[0]} a {architecture!r} "
                             "one: only checkpoints of one network average")  # fmt: skip
        weights = item["state_dict"]
        if weights.keys() != first.keys() or any(weights[key].shape != first[key].shape for key in first):
            raise ValueError(f"{path} and {paths[0]} hold networks of different shapes")
    state = {
        key: (sum(item["state_dict"][key].float() for item in saved) / len(saved)).half()
        if value.is_floating_point()
        else value
        for key, value in first.items()
    }
    record = {"averaged": [{"path": str(path), "command": item.get("command", ""), "record": item.get("record", {})}
                           for path, item in zip(paths, saved, strict=True)]}  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": state, "width": saved[0].get("width", 0), "record": record, "command": command,
                "architecture": architecture}, out)  # fmt: skip
