"""The older polar reader network, loaded only for checkpoints of its kind (the hand reader,
read/hand_net.py, is the default): a crop in, the kind of clock and the time it shows out.

A spatial transformer first learns an affine warp that brings an oblique or rotated face back
to a frontal, upright one (the alignment idea of "It's About Time", CVPR 2022). Two small
trunks then look at the aligned crop. One sees it unwrapped into polar coordinates, angle by
radius: there a hand is a band at its angle, so reading it is finding where a band lies along
one axis, which convolutions do well (the angle axis wraps around). The other sees the crop
as it is, for digital displays and for telling the kinds apart. Nothing is pooled away along
the angle, because where a hand points is the answer. The time is classified, not regressed:
12 hours and 60 minutes, plus the kind (analog or digital) and what the display says of AM/PM.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional

INPUT_SIZE = 64
KINDS = ("analog", "digital")
MERIDIEMS = ("unknown", "am", "pm")


def _block(inputs: int, outputs: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
        nn.Conv2d(outputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
    )


POLAR_ANGLES = 96
POLAR_RADII = 24


def _polar_grid() -> torch.Tensor:
    """Sampling positions (grid_sample's -1..1 coordinates) for angle rows from 12 o'clock, clockwise."""
    angles = torch.arange(POLAR_ANGLES, dtype=torch.float32) * (2 * torch.pi / POLAR_ANGLES)
    # The crop is ~15% larger than the face; sample from near the centre to the rim.
    radii = torch.linspace(0.04, 0.86, POLAR_RADII)
    x = radii[None, :] * torch.sin(angles)[:, None]
    y = -radii[None, :] * torch.cos(angles)[:, None]
    return torch.stack([x, y], dim=-1)[None]  # 1 x A x R x 2


class _AngleConv(nn.Module):
    """A convolution whose angle axis wraps around (the dial is a circle) and whose radius axis doesn't."""

    def __init__(self, inputs: int, outputs: int, radius_stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(inputs, outputs, (5, 3), stride=(1, radius_stride), bias=False)
        self.norm = nn.BatchNorm2d(outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = functional.pad(x, (0, 0, 2, 2), mode="circular")
        x = functional.pad(x, (1, 1, 0, 0))
        return functional.relu(self.norm(self.conv(x)), inplace=True)


class ClockReaderNet(nn.Module):
    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.width = width
        self.localization = nn.Sequential(
            nn.Conv2d(3, 16, 5, stride=2, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(32 * 16, 64),
            nn.ReLU(inplace=True),
            nn.Linear(64, 6),
        )
        # Start as the identity warp, so early training sees the crop as it is.
        self.localization[-1].weight.data.zero_()
        self.localization[-1].bias.data.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))
        self.register_buffer("polar_grid", _polar_grid(), persistent=False)
        self.polar = nn.Sequential(
            _AngleConv(3, width, 1),
            _AngleConv(width, width, 2),  # radius 12
            _AngleConv(width, width * 2, 2),  # 6
            _AngleConv(width * 2, width * 2, 2),  # 3
            nn.AdaptiveMaxPool2d((POLAR_ANGLES // 2, 1)),
            nn.Flatten(),
        )
        self.trunk = nn.Sequential(
            _block(3, width, 2),  # 32 x 32
            _block(width, width * 2, 2),  # 16
            _block(width * 2, width * 4, 2),  # 8
            _block(width * 4, width * 4, 2),  # 4
            nn.Flatten(),
        )
        features = width * 2 * (POLAR_ANGLES // 2) + width * 4 * 4 * 4
        self.neck = nn.Sequential(nn.Dropout(0.2), nn.Linear(features, 384), nn.ReLU(inplace=True))
        self.kind = nn.Linear(384, len(KINDS))
        self.hour = nn.Linear(384, 12)
        self.minute = nn.Linear(384, 60)
        self.meridiem = nn.Linear(384, len(MERIDIEMS))

    def align(self, images: torch.Tensor) -> torch.Tensor:
        theta = self.localization(images).view(-1, 2, 3)
        grid = functional.affine_grid(theta, list(images.shape), align_corners=False)
        return functional.grid_sample(images, grid, align_corners=False, padding_mode="border")

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images: N x 3 x 64 x 64, float in [0, 1]."""
        aligned = self.align(images)
        polar = functional.grid_sample(
            aligned, self.polar_grid.expand(len(images), -1, -1, -1), align_corners=False, padding_mode="border"
        )
        features = self.neck(torch.cat([self.polar(polar), self.trunk(aligned)], dim=1))
        return {
            "kind": self.kind(features),
            "hour": self.hour(features),
            "minute": self.minute(features),
            "meridiem": self.meridiem(features),
        }


def to_tensor(images: list) -> torch.Tensor:
    """RGB uint8 crops (already INPUT_SIZE square) to a normalized batch."""
    batch = np.stack(images).astype(np.float32) / 255.0
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()
