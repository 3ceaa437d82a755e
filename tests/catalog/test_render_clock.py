"""`manage.py render_clock`: a stretch of the clock as one file, minute by minute."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import av
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tests.support import make_playable_snippet

pytestmark = pytest.mark.django_db


def test_it_renders_two_minutes_with_their_clips_into_one_file(tmp_path):
    make_playable_snippet(10 * 60 + 42, tmp_path, seconds=6.0)
    out = tmp_path / "clock.mp4"

    call_command("render_clock", "--from", "10:42", "--to", "10:44", str(out), "--height", "180",
                 stdout=StringIO(), stderr=StringIO())  # fmt: skip

    with av.open(str(out)) as container:
        assert container.duration / 1_000_000 == pytest.approx(120, abs=0.5)
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (320, 180)
        assert container.streams.audio[0].codec_context.sample_rate == 48000
    assert not list(Path(settings.VAR_DIR).glob("render-clock-*")), "the parts are cleaned up"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "25:00", "--to", "10:00"], "not a time of day"),
        (["--from", "10:00", "--to", "ten"], "not a time"),
        (["--from", "10:00", "--to", "10:01", "--date", "yesterday"], "not a date"),
    ],
)
def test_bad_arguments_are_clear_errors(tmp_path, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("render_clock", *arguments, str(tmp_path / "out.mp4"))


def test_the_output_must_be_an_mp4_in_an_existing_folder(tmp_path):
    with pytest.raises(CommandError, match="MP4"):
        call_command("render_clock", "--from", "10:00", "--to", "10:01", str(tmp_path / "out.avi"))
    with pytest.raises(CommandError, match="no such folder"):
        call_command("render_clock", "--from", "10:00", "--to", "10:01", str(tmp_path / "missing" / "out.mp4"))
