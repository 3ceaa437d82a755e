"""pipeline.images: every still is read as three-channel RGB, and a file that is no image says so."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.images import UnreadableImage, load_rgb, read_rgb


def test_colour_comes_back_rgb_not_opencvs_bgr(tmp_path: Path) -> None:
    picture = np.zeros((4, 6, 3), np.uint8)
    picture[..., 0] = 200  # red, in RGB order
    # OpenCV writes BGR: hand it the picture swapped, as any RGB caller would.
    cv2.imwrite(str(tmp_path / "red.png"), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    image = read_rgb(tmp_path / "red.png")
    assert image is not None and image.shape == (4, 6, 3) and image.dtype == np.uint8
    assert image[0, 0].tolist() == [200, 0, 0]


def test_grey_and_alpha_images_come_back_with_three_channels(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((5, 5), 90, np.uint8))
    with_alpha = np.zeros((5, 5, 4), np.uint8)
    with_alpha[..., 1], with_alpha[..., 3] = 150, 255  # green (BGRA), opaque
    cv2.imwrite(str(tmp_path / "alpha.png"), with_alpha)
    grey, coloured = read_rgb(tmp_path / "grey.png"), read_rgb(tmp_path / "alpha.png")
    assert grey is not None and grey.shape == (5, 5, 3) and grey[2, 2].tolist() == [90, 90, 90]
    assert coloured is not None and coloured.shape == (5, 5, 3) and coloured[2, 2].tolist() == [0, 150, 0]


@pytest.mark.parametrize("content", [None, b"", b"GIF89a not really", b"\x89PNG\r\n\x1a\n truncated"])
def test_what_is_no_image_reads_as_none_and_load_names_the_file(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "broken.png"
    if content is not None:
        path.write_bytes(content)
    assert read_rgb(path) is None
    with pytest.raises(UnreadableImage, match=r"broken\.png"):
        load_rgb(path)
