from collections.abc import Iterator

import numpy as np
import pytest

from pipeline.frames import Frame, FrameReadError, sample_frames
from tests.media import make_audio_only, make_clip, make_video, overwrite_with_garbage, truncate


def test_it_samples_two_frames_a_second_as_rgb_arrays(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", seconds=4, size="320x240")

    frames = list(sample_frames(clip, per_second=2))

    assert [frame.second for frame in frames] == pytest.approx([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5], abs=0.05)
    for frame in frames:
        assert frame.image.shape == (240, 320, 3)
        assert frame.image.dtype == np.uint8


def test_it_takes_the_first_frame_at_or_after_each_sample_time(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", seconds=2)

    seconds = [frame.second for frame in sample_frames(clip, per_second=3)]

    # At 25 frames a second the frames are 0.04 s apart: 1/3 s is first reached by the frame at 0.36 s.
    assert seconds == pytest.approx([0, 0.36, 0.68, 1.0, 1.36, 1.68], abs=0.005)


def test_skipping_unreferenced_frames_decodes_fewer_and_samples_land_a_few_frames_late_at_most(tmp_path):
    clip = make_video(tmp_path / "b-frames.mp4", graph="testsrc2=size=320x240:rate=25:duration=6", preset="veryfast")

    every = list(sample_frames(clip, per_second=1))
    skipping = list(sample_frames(clip, per_second=1, reference_frames_only=True))

    assert [frame.second for frame in every] == pytest.approx([0, 1, 2, 3, 4, 5], abs=0.005)
    late = [b.second - a.second for a, b in zip(every, skipping, strict=True)]
    assert all(0 <= delay <= 0.2 for delay in late), late
    assert any(delay > 0 for delay in late), "x264's B-frames were skipped, so some sample moved"
    for frame in skipping:  # the frame given is the one at its second: testsrc2 changes every frame
        (same,) = [f for f in sample_frames(clip, per_second=25) if abs(f.second - frame.second) < 0.01]
        assert np.abs(same.image.astype(int) - frame.image.astype(int)).mean() < 2


def test_it_yields_each_frame_once_when_the_video_has_fewer_frames_than_samples(tmp_path):
    clip = make_video(tmp_path / "slow.mp4", graph="testsrc2=size=160x120:rate=1:duration=3")

    seconds = [frame.second for frame in sample_frames(clip, per_second=4)]

    assert seconds == pytest.approx([0, 1, 2])


def test_its_pixels_are_red_green_blue_in_that_order(tmp_path):
    clip = make_video(tmp_path / "red.mp4", graph="color=c=0xFF0000:size=64x48:rate=25:duration=1")

    image = next(sample_frames(clip)).image

    red, green, blue = image.reshape(-1, 3).mean(axis=0)
    assert red > 200
    assert green < 50
    assert blue < 50


@pytest.mark.parametrize(
    ("size", "max_side", "shape"),
    [
        ("320x240", 160, (120, 160, 3)),
        ("180x320", 160, (160, 90, 3)),
        ("320x240", 320, (240, 320, 3)),
        ("320x240", 1000, (240, 320, 3)),
    ],
    ids=["landscape", "portrait", "exactly-fits", "never-enlarged"],
)
def test_it_shrinks_frames_to_max_side_keeping_their_aspect(tmp_path, size, max_side, shape):
    clip = make_clip(tmp_path / "clip.mp4", seconds=1, size=size)

    frames = list(sample_frames(clip, max_side=max_side))

    assert frames
    assert all(frame.image.shape == shape for frame in frames)


def test_its_keyframe_pass_yields_every_keyframe_and_nothing_else(tmp_path):
    clip = make_video(tmp_path / "gop.mp4", graph="testsrc2=size=320x240:rate=25:duration=4", keyframe_every=25)

    frames = list(sample_frames(clip, keyframes_only=True))

    assert [frame.second for frame in frames] == pytest.approx([0, 1, 2, 3], abs=0.01)
    assert all(frame.image.shape == (240, 320, 3) for frame in frames)


def test_its_seconds_start_at_zero_even_when_the_stream_does_not(tmp_path):
    # MPEG-TS streams start at an offset (ffmpeg writes 1.4 s); seconds count from the first frame.
    clip = make_video(tmp_path / "clip.ts", graph="testsrc2=size=160x120:rate=25:duration=2")

    seconds = [frame.second for frame in sample_frames(clip)]

    assert seconds == pytest.approx([0, 0.5, 1, 1.5], abs=0.05)


def test_it_is_a_lazy_generator(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", seconds=2)

    frames = sample_frames(clip)
    first = next(frames)
    frames.close()

    assert isinstance(frames, Iterator)
    assert isinstance(first, Frame)
    assert first.second == 0


def test_it_yields_what_it_read_of_a_truncated_file_then_says_it_was_cut_short(tmp_path):
    # FFmpeg itself just stops at the end of a cut-off file; the container's declared length gives it away.
    clip = truncate(
        make_video(tmp_path / "clip.mkv", graph="testsrc2=size=320x240:rate=25:duration=6"), keep_fraction=0.6
    )
    frames = []

    with pytest.raises(FrameReadError, match=r"clip\.mkv: the video stops at \d+\.\d\d s of the 6\.\d\d s") as error:
        frames.extend(sample_frames(clip))

    assert "truncated" in str(error.value)
    assert len(frames) >= 4
    assert frames[-1].second < 5
    assert [frame.second for frame in frames] == sorted(frame.second for frame in frames)


def test_it_yields_the_frames_before_a_corrupt_stretch_then_says_what_ffmpeg_said(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", graph="testsrc2=size=320x240:rate=25:duration=4")
    overwrite_with_garbage(clip, start_fraction=0.5, length_fraction=0.05)
    frames = []

    message = r"clip\.mp4: decoding stopped after \d+\.\d\d s: FFmpeg said: Invalid data found"
    with pytest.raises(FrameReadError, match=message):
        frames.extend(sample_frames(clip))

    assert 1 <= len(frames) < 8


def test_a_truncated_mpeg_ts_file_just_ends_early(tmp_path):
    # MPEG-TS declares no length: FFmpeg estimates it from what is there, so there is nothing to compare with.
    clip = truncate(
        make_video(tmp_path / "clip.ts", graph="testsrc2=size=320x240:rate=25:duration=6"), keep_fraction=0.6
    )

    frames = list(sample_frames(clip))

    assert 4 <= len(frames) < 12


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda path: path.write_bytes(b"\x00\x01garbage" * 5000), r"cannot be opened as a video: FFmpeg said: "),
        (lambda path: path.write_bytes(b""), r"cannot be opened as a video"),
        (lambda path: make_audio_only(path), r"no video stream \(found audio\)"),
        (lambda path: None, r"no such file"),
    ],
    ids=["garbage", "empty", "audio-only", "missing"],
)
def test_it_refuses_what_is_not_a_video_before_yielding_anything(tmp_path, make, message):
    path = tmp_path / "thing.mp4"
    make(path)

    frames = sample_frames(path)

    with pytest.raises(FrameReadError, match=rf"thing\.mp4: {message}"):
        next(frames)


@pytest.mark.parametrize("per_second", [0, -1])
def test_it_refuses_a_sampling_rate_that_is_not_positive(tmp_path, per_second):
    clip = make_clip(tmp_path / "clip.mp4", seconds=1)

    with pytest.raises(ValueError, match="per_second"):
        next(sample_frames(clip, per_second=per_second))
