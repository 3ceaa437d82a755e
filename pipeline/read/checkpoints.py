"""Checkpoints of the networks clockweb trains itself (the clock reader, the display recognizer):
one format, written and read in one place."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    state = {key: value.half() if value.is_floating_point() else value for key, value in model.state_dict().items()}
    architecture = getattr(model, "architecture", "polar")
    torch.save({"state_dict": state, "width": record.width, "record": asdict(record), "command": command,
                "architecture": architecture}, path)  # fmt: skip


def load_checkpoint(path: str | Path, build: Callable[[int], Net] | Mapping[str, Callable[[int], Net]], *,
                    device: str | None = None) -> tuple[Net, dict]:  # fmt: skip
    """The network `build(width)` with the saved weights, in eval mode on `device` (CUDA when
    present if None), and the whole saved dictionary. `build` may map architecture names to
    builders, for a path that can hold more than one kind of network (checkpoints saved before
    the name was recorded are "polar")."""
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(build, Mapping):
        architecture = saved.get("architecture", "polar")
        if architecture not in build:
            raise ValueError(f"{path} holds a {architecture!r} network; expected one of {', '.join(build)}")
        build = build[architecture]
    model = build(saved["width"])
    model.load_state_dict({key: value.float() for key, value in saved["state_dict"].items()})
    model.to(device or best_device()).eval()
    return model, saved
