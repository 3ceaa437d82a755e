"""The analog reader network: ImageNet-pretrained EfficientNet-Lite0 with heads for the hands.

What it predicts, from one square crop around a clock:
- `kind`: analog face, digital display, or no clock at all (the detector's false alarms);
- `minute`: where the minute hand points, 60 bins;
- `hour_hand`: where the hour hand points, 120 bins of 3 degrees (6 minutes of the dial), so it
  says how far past its hour the hand has moved, which is what tells 6:51 from 5:51;
- `hour`: the hour, 12 classes: the plain formulation, kept to measure the hands one against.

Hand angles are dial-relative (0 = the dial's 12, clockwise), learned with cyclic soft labels
(see hand_training); the time is then decoded jointly from both hands (see decode). Features
are the pooled last convolution plus a small map of where things are, since the answer is a
direction.
"""

from __future__ import annotations

import torch
from torch import nn

from pipeline.read.backbone import FEATURES, Backbone
from pipeline.read.reader_model import to_tensor  # the same [0, 1] batch layout

__all__ = ["INPUT_SIZE", "KINDS", "HandReaderNet", "to_tensor"]

INPUT_SIZE = 112
KINDS = ("analog", "digital", "none")
HOUR_HAND_BINS = 120
MINUTE_BINS = 60
_MAP_CHANNELS = 32
_MAP_SIDE = 4  # about INPUT_SIZE / 32


ARCHITECTURE = "efficientnet-lite0-hands"  # the name checkpoints record


class HandReaderNet(nn.Module):
    architecture = ARCHITECTURE

    def __init__(self, width: int = 0, *, pretrained: bool = True) -> None:
        # `width` is unused: it keeps the signature checkpoints.load_checkpoint calls with.
        super().__init__()
        self.width = width
        self.backbone = Backbone(pretrained=pretrained)
        self.where = nn.Sequential(nn.Conv2d(FEATURES, _MAP_CHANNELS, 1), nn.ReLU(inplace=True), nn.Flatten())
        features = FEATURES + _MAP_CHANNELS * _MAP_SIDE * _MAP_SIDE
        self.neck = nn.Sequential(nn.Dropout(0.2), nn.Linear(features, 512), nn.ReLU(inplace=True))
        self.kind = nn.Linear(512, len(KINDS))
        self.hour = nn.Linear(512, 12)
        self.minute = nn.Linear(512, MINUTE_BINS)
        self.hour_hand = nn.Linear(512, HOUR_HAND_BINS)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images: N x 3 x INPUT_SIZE x INPUT_SIZE, RGB in [0, 1]. Logits per head."""
        maps = self.backbone(images)
        maps = nn.functional.adaptive_avg_pool2d(maps, _MAP_SIDE)
        pooled = maps.mean(dim=(2, 3))
        features = self.neck(torch.cat([pooled, self.where(maps)], dim=1))
        return {
            "kind": self.kind(features),
            "hour": self.hour(features),
            "minute": self.minute(features),
            "hour_hand": self.hour_hand(features),
        }
