import pytest

from pipeline.ingest.probe import NotAVideo, probe_video
from tests.media import make_audio_only, make_clip


def test_it_describes_a_real_video(tmp_path):
    probe = probe_video(make_clip(tmp_path / "clip.mp4", seconds=2, size="320x240"))
    assert probe.extension == "mp4"
    assert probe.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert (probe.width, probe.height) == (320, 240)
    assert probe.video_codec == "h264"
    assert probe.frames_per_second == pytest.approx(25)
    assert probe.has_audio


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "the file is empty"),
        (lambda p: p.write_bytes(b"\x00\x01garbage" * 5000), "not a readable video"),
        (lambda p: p.write_text("<html>hello</html>"), "not a readable video"),
        (lambda p: make_audio_only(p), r"no video stream \(found audio\)"),
    ],
    ids=["empty", "garbage", "html", "audio-only"],
)
def test_it_refuses_what_is_not_a_video(tmp_path, make, message):
    path = tmp_path / "thing.mp4"
    make(path)
    with pytest.raises(NotAVideo, match=message):
        probe_video(path)


def test_it_refuses_a_video_cut_off_before_its_first_frame(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", seconds=2)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[:2000])
    with pytest.raises(NotAVideo):
        probe_video(truncated)
