import numpy as np
import pytest

from pipeline.frames import Frame, sample_frames
from pipeline.scan.shots import ShotDetector, shot_boundaries, shot_index
from tests.media import make_hard_cut, make_video


def _plain(second, rgb, size=(36, 64)):
    return Frame(second=second, image=np.full((*size, 3), rgb, dtype=np.uint8))


@pytest.mark.parametrize(
    ("first", "second"),
    [("testsrc2", "smptebars"), ("smptebars", "testsrc2"), ("testsrc2", "rgbtestsrc"), ("smptebars", "smptehdbars")],
)
def test_it_finds_a_hard_cut_between_two_patterns_within_one_sample(tmp_path, first, second):
    video = make_hard_cut(tmp_path / "cut.mp4", first=first, second=second, seconds_each=3)

    boundaries = shot_boundaries(sample_frames(video, per_second=2))

    assert len(boundaries) == 1
    assert boundaries[0] == pytest.approx(3.0, abs=0.5)


@pytest.mark.parametrize(
    "graph",
    [
        "testsrc2=size=320x240:rate=25:duration=8",
        "testsrc2=size=1280x240:rate=25:duration=8,crop=w=320:h=240:x='t*40':y=0",
        "testsrc2=size=320x240:rate=25:duration=8,noise=alls=100:allf=t+u",
        "color=c=0x303030:size=320x240:rate=25:duration=8,noise=alls=100:allf=t+u",
        "mandelbrot=size=320x240:rate=25,trim=duration=8",
    ],
    ids=["moving-pattern", "panning", "grainy", "dark-and-grainy", "slow-zoom"],
)
def test_it_does_not_split_one_continuous_shot(tmp_path, graph):
    video = make_video(tmp_path / "shot.mp4", graph=graph)

    assert shot_boundaries(sample_frames(video, per_second=2)) == []


def test_its_streaming_detector_says_which_frame_starts_a_new_shot(tmp_path):
    video = make_hard_cut(tmp_path / "cut.mp4", seconds_each=2)
    detector = ShotDetector()

    starts = [frame.second for frame in sample_frames(video, per_second=2) if detector.update(frame)]

    assert starts == detector.boundaries
    assert starts == pytest.approx([2.0], abs=0.5)


def test_it_cuts_between_frames_of_different_colours_and_not_between_identical_ones():
    frames = [
        _plain(0.0, (200, 30, 30)),
        _plain(0.5, (200, 30, 30)),
        _plain(1.0, (30, 30, 200)),
        _plain(1.5, (30, 30, 200)),
        _plain(2.0, (0, 0, 0)),
        _plain(2.5, (255, 255, 255)),
    ]

    assert shot_boundaries(frames) == [1.0, 2.0, 2.5]


def test_it_accepts_frames_of_any_size():
    frames = [_plain(0.0, (10, 200, 10), size=(7, 5)), _plain(0.5, (10, 200, 10), size=(1080, 1920))]

    assert shot_boundaries(frames) == []


def test_its_threshold_decides_what_counts_as_a_cut():
    # A red picture, then the same with a blue quarter: a change, but less than a cut to another scene.
    partly_blue = _plain(0.5, (200, 30, 30))
    partly_blue.image[:, :16] = (30, 30, 200)
    frames = [_plain(0.0, (200, 30, 30)), partly_blue]

    assert shot_boundaries(frames) == []
    assert shot_boundaries(frames, threshold=0.2) == [0.5]


@pytest.mark.parametrize("threshold", [0, -0.5, 1.5])
def test_it_refuses_a_threshold_outside_zero_to_one(threshold):
    with pytest.raises(ValueError, match="threshold"):
        ShotDetector(threshold=threshold)


def test_it_finds_no_boundary_in_no_frames_or_one():
    assert shot_boundaries([]) == []
    assert shot_boundaries([_plain(0.0, (1, 2, 3))]) == []


@pytest.mark.parametrize(
    ("second", "index"),
    [(0.0, 0), (2.9, 0), (3.0, 1), (4.5, 1), (7.5, 2), (100.0, 2)],
)
def test_it_tells_which_shot_a_second_is_in(second, index):
    assert shot_index([3.0, 7.5], second) == index


def test_everything_is_one_shot_when_there_are_no_boundaries():
    assert shot_index([], 42.0) == 0
