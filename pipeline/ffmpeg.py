"""The ffmpeg adapter: the only module that runs the ffmpeg binary."""

from __future__ import annotations

import shutil
from functools import cache


@cache
def ffmpeg_binary() -> str:
    """The system's ffmpeg when there is one (it may have NVENC/NVDEC), else the one imageio-ffmpeg ships."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()
