"""The analog reader network: ImageNet-pretrained EfficientNet-Lite0 with heads for the hands.

What it predicts, from one square crop around a clock:
- `kind`: analog face, digital display, or no clock at all (the detector's false alarms);
- `minute`: where the minute hand points, 60 bins;
- `hour_hand`: where the hour hand points, 120 bins of 3 degrees (6 minutes of the dial), so it
  says how far past its hour the hand has moved, which is what tells 6:51 from 5:51;
- `hour`: the hour, 12 classes: the plain formulation, kept to measure the hands one against;
- `up` (networks that read the tilt): where the dial's 12 points, 120 bins of 3 degrees;
- `squeeze` (networks that read the squeeze): how an oblique dial is squeezed, the vector of
  read/dial_geometry, regressed (2 numbers, not a distribution);
- `second_hand` (networks that read the seconds): where the second hand points, 60 bins, and a
  61st for "no second hand". Learned so that the network tells the thin hand from the minute
  hand (a second hand at 12 over a clock drawn at a whole minute pulled the minute towards 12).
  The decode does not read it: reading the minute a second hand says the minute hand has passed
  (10:30 at 10:30:50) put staged product photographs (10:10 with the second hand at 35) a
  minute early, which the real labels are not (models/README.md, run 38).

A network that reads the tilt reads every direction against the crop's own up (0 = straight up,
clockwise): where each hand points and where the dial's 12 is. A hand is a line, found where it
is; the dial's 12 is found from the numerals and the case. The time is what the hands say once
the dial is turned upright (decode.time_posterior). The first networks read the hands
against the dial's 12 directly, and learned instead to read them against the crop's up: a
rendered clock turned by a few degrees read wrong by a minute or two (models/README.md).
Angles are learned with cyclic soft labels (see hand_training). Features are the pooled last
convolution plus a small map of where things are, since the answer is a direction.
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
UP_BINS = 120
SECOND_BINS = 60
_MAP_CHANNELS = 32
_MAP_SIDE = 4  # about INPUT_SIZE / 32


# The names checkpoints record: hands read against the dial's 12 (ARCHITECTURE), or against the
# crop's up with the dial's tilt read beside them ("-tilt"), and with that how an oblique dial is
# squeezed ("-squeeze"), where the second hand points ("-seconds"), or both.
ARCHITECTURE = "efficientnet-lite0-hands"
TILT_ARCHITECTURE = ARCHITECTURE + "-tilt"
_TILT_VARIANTS = ("", "-squeeze", "-seconds", "-squeeze-seconds")
ARCHITECTURES = (ARCHITECTURE, *(TILT_ARCHITECTURE + reads for reads in _TILT_VARIANTS))
# The networks that read every direction against the crop's up.
TILT_ARCHITECTURES = tuple(name for name in ARCHITECTURES if name.startswith(TILT_ARCHITECTURE))
# The heads a network may lack (an older checkpoint's), which `--new-heads` adds.
OPTIONAL_HEADS = ("up", "squeeze", "second_hand")
# Heads whose outputs are numbers, not logits of a distribution.
REGRESSED_HEADS = ("squeeze",)


class HandReaderNet(nn.Module):
    def __init__(self, width: int = 0, *, pretrained: bool = True, reads_tilt: bool = True,
                 reads_squeeze: bool = True, reads_seconds: bool = True) -> None:  # fmt: skip
        # `width` is unused: it keeps the signature checkpoints.load_checkpoint calls with.
        super().__init__()
        reads_squeeze = reads_squeeze and reads_tilt
        reads_seconds = reads_seconds and reads_tilt
        self.width = width
        reads = "-tilt" * reads_tilt + "-squeeze" * reads_squeeze + "-seconds" * reads_seconds
        self.architecture = ARCHITECTURE + reads
        self.backbone = Backbone(pretrained=pretrained)
        self.where = nn.Sequential(nn.Conv2d(FEATURES, _MAP_CHANNELS, 1), nn.ReLU(inplace=True), nn.Flatten())
        features = FEATURES + _MAP_CHANNELS * _MAP_SIDE * _MAP_SIDE
        self.neck = nn.Sequential(nn.Dropout(0.2), nn.Linear(features, 512), nn.ReLU(inplace=True))
        self.kind = nn.Linear(512, len(KINDS))
        self.hour = nn.Linear(512, 12)
        self.minute = nn.Linear(512, MINUTE_BINS)
        self.hour_hand = nn.Linear(512, HOUR_HAND_BINS)
        self.up = nn.Linear(512, UP_BINS) if reads_tilt else None
        self.squeeze = nn.Linear(512, 2) if reads_squeeze else None
        self.second_hand = nn.Linear(512, SECOND_BINS + 1) if reads_seconds else None

    @classmethod
    def of(cls, architecture: str, *, pretrained: bool = False) -> HandReaderNet:
        """The network a checkpoint of `architecture` holds."""
        if architecture not in ARCHITECTURES:
            raise ValueError(f"no hand reader is called {architecture!r}")
        return cls(pretrained=pretrained, reads_tilt="-tilt" in architecture,
                   reads_squeeze="-squeeze" in architecture, reads_seconds="-seconds" in architecture)  # fmt: skip

    @classmethod
    def with_heads(cls, heads: set[str], *, pretrained: bool = True) -> HandReaderNet:
        """The network with these of the OPTIONAL_HEADS (and all the others)."""
        return cls(pretrained=pretrained, reads_tilt="up" in heads, reads_squeeze="squeeze" in heads,
                   reads_seconds="second_hand" in heads)  # fmt: skip

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images: N x 3 x INPUT_SIZE x INPUT_SIZE, RGB in [0, 1]. Logits per head."""
        maps = self.backbone(images)
        maps = nn.functional.adaptive_avg_pool2d(maps, _MAP_SIDE)
        pooled = maps.mean(dim=(2, 3))
        features = self.neck(torch.cat([pooled, self.where(maps)], dim=1))
        heads = {
            "kind": self.kind(features),
            "hour": self.hour(features),
            "minute": self.minute(features),
            "hour_hand": self.hour_hand(features),
        }
        if self.up is not None:
            heads["up"] = self.up(features)
        if self.squeeze is not None:
            heads["squeeze"] = self.squeeze(features)
        if self.second_hand is not None:
            heads["second_hand"] = self.second_hand(features)
        return heads
