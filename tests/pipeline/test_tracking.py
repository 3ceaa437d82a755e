import json

import pytest

from pipeline.geometry import Box
from pipeline.scan.tracking import Detection, Sighting, link_detections


def _detection(second, x=100.0, y=50.0, size=40.0, confidence=0.8):
    return Detection(second=second, box=Box(x=x, y=y, width=size, height=size), confidence=confidence)


def _frames(*frames):
    """(second, [detections]) pairs, from (second, detection or list of them or None) shorthand."""
    result = []
    for second, found in frames:
        if found is None:
            result.append((second, []))
        elif isinstance(found, list):
            result.append((second, found))
        else:
            result.append((second, [found]))
    return result


def _starts_and_ends(sightings):
    return [(sighting.start_second, sighting.end_second) for sighting in sightings]


@pytest.mark.parametrize(
    ("first", "second", "iou"),
    [
        (Box(0, 0, 10, 10), Box(0, 0, 10, 10), 1.0),
        (Box(0, 0, 10, 10), Box(5, 0, 10, 10), 50 / 150),
        (Box(0, 0, 10, 10), Box(10, 0, 10, 10), 0.0),
        (Box(0, 0, 10, 10), Box(30, 30, 5, 5), 0.0),
        (Box(0, 0, 10, 10), Box(2, 2, 5, 5), 25 / 100),
        (Box(0, 0, 0, 0), Box(0, 0, 0, 0), 0.0),
    ],
    ids=["same", "half-shifted", "touching", "apart", "inside", "empty"],
)
def test_it_measures_box_overlap_as_intersection_over_union(first, second, iou):
    assert first.iou(second) == pytest.approx(iou)
    assert second.iou(first) == pytest.approx(iou)


def test_a_box_knows_its_area_and_refuses_a_negative_size():
    assert Box(1, 2, 3, 4).area == 12
    with pytest.raises(ValueError, match="negative"):
        Box(0, 0, -1, 5)


def test_it_links_a_clock_seen_in_consecutive_frames_into_one_sighting():
    frames = _frames(*[(second / 2, _detection(second / 2, x=100 + second)) for second in range(6)])

    sightings = link_detections(frames, shot_boundaries=[])

    assert len(sightings) == 1
    assert sightings[0].start_second == 0.0
    assert sightings[0].end_second == 2.5
    assert len(sightings[0].detections) == 6


def test_it_bridges_a_short_gap_and_splits_at_a_long_one():
    frames = _frames(
        (0.0, _detection(0.0)),
        (0.5, _detection(0.5)),
        (1.0, None),
        (1.5, None),
        (2.0, _detection(2.0)),  # 1.5 s after the last detection: still the same sighting
        (2.5, _detection(2.5)),
        (3.0, None),
        (3.5, None),
        (4.0, None),
        (4.5, _detection(4.5)),  # 2.0 s after: a new sighting
        (5.0, _detection(5.0)),
    )

    sightings = link_detections(frames, shot_boundaries=[], max_gap_seconds=1.5)

    assert _starts_and_ends(sightings) == [(0.0, 2.5), (4.5, 5.0)]


def test_a_sighting_never_spans_a_shot_boundary():
    frames = _frames(*[(second / 2, _detection(second / 2)) for second in range(8)])

    sightings = link_detections(frames, shot_boundaries=[2.0])

    assert _starts_and_ends(sightings) == [(0.0, 1.5), (2.0, 3.5)]


def test_a_shot_boundary_ends_tracks_even_when_its_frame_has_no_detections():
    frames = _frames((0.0, _detection(0.0)), (0.5, _detection(0.5)), (1.0, None), (1.5, _detection(1.5)),
                     (2.0, _detection(2.0)))  # fmt: skip

    sightings = link_detections(frames, shot_boundaries=[1.0])

    assert _starts_and_ends(sightings) == [(0.0, 0.5), (1.5, 2.0)]


def test_it_keeps_two_clocks_on_screen_at_once_apart():
    frames = _frames(
        *[
            (second / 2, [_detection(second / 2, x=20 + second, confidence=0.9),
                          _detection(second / 2, x=250 - second, confidence=0.6)])
            for second in range(5)
        ]
    )  # fmt: skip

    sightings = link_detections(frames, shot_boundaries=[])

    assert len(sightings) == 2
    left, right = sorted(sightings, key=lambda sighting: sighting.detections[0].box.x)
    assert [detection.box.x for detection in left.detections] == [20, 21, 22, 23, 24]
    assert [detection.box.x for detection in right.detections] == [250, 249, 248, 247, 246]
    assert left.confidence == pytest.approx(0.9)
    assert right.confidence == pytest.approx(0.6)


def test_each_track_takes_the_detection_it_overlaps_most():
    # The track's last box is at x=100; both new boxes overlap it, the one at x=104 more.
    frames = _frames(
        (0.0, _detection(0.0, x=100)),
        (0.5, [_detection(0.5, x=115, confidence=0.5), _detection(0.5, x=104, confidence=0.7)]),
        (1.0, [_detection(1.0, x=116, confidence=0.5), _detection(1.0, x=105, confidence=0.7)]),
    )

    sightings = link_detections(frames, shot_boundaries=[])

    assert [[detection.box.x for detection in sighting.detections] for sighting in sightings] == [
        [100, 104, 105],
        [115, 116],
    ]


def test_a_box_that_overlaps_too_little_starts_a_new_track():
    frames = _frames(
        (0.0, _detection(0.0, x=100)),
        (0.5, _detection(0.5, x=100)),
        (1.0, _detection(1.0, x=130)),  # IoU with x=100 is 10/70, below 0.3
        (1.5, _detection(1.5, x=130)),
    )

    sightings = link_detections(frames, shot_boundaries=[], min_iou=0.3)

    assert _starts_and_ends(sightings) == [(0.0, 0.5), (1.0, 1.5)]


def test_it_drops_tracks_with_too_few_detections():
    frames = _frames(
        (0.0, [_detection(0.0, x=100), _detection(0.0, x=400)]),  # the one at x=400 is seen once
        (0.5, _detection(0.5, x=100)),
        (1.0, _detection(1.0, x=100)),
    )

    assert len(link_detections(frames, shot_boundaries=[], min_detections=2)) == 1
    assert len(link_detections(frames, shot_boundaries=[], min_detections=1)) == 2
    assert link_detections(frames, shot_boundaries=[], min_detections=4) == []


def test_it_returns_sightings_sorted_by_start_not_by_when_they_ended():
    # The clock at x=10 appears after the one at x=300 but is gone long before it.
    frames = _frames(
        (0.0, _detection(0.0, x=300)),
        (0.5, [_detection(0.5, x=300), _detection(0.5, x=10)]),
        (1.0, [_detection(1.0, x=300), _detection(1.0, x=10)]),
        *[(second / 2, _detection(second / 2, x=300)) for second in range(3, 9)],
    )

    sightings = link_detections(frames, shot_boundaries=[])

    assert _starts_and_ends(sightings) == [(0.0, 4.0), (0.5, 1.0)]


def test_it_finds_nothing_in_nothing():
    assert link_detections([], shot_boundaries=[]) == []
    assert link_detections(_frames((0.0, None), (0.5, None)), shot_boundaries=[1.0]) == []


def test_it_refuses_frames_out_of_time_order():
    with pytest.raises(ValueError, match="time order"):
        link_detections(_frames((1.0, None), (0.5, None)), shot_boundaries=[])


def test_a_sighting_gives_its_box_track_as_json_ready_lists():
    sighting = Sighting(
        start_second=1.0,
        end_second=1.5,
        detections=(
            Detection(second=1.0, box=Box(10, 20, 30, 40), confidence=0.5),
            Detection(second=1.5, box=Box(11, 21, 31, 41), confidence=0.7),
        ),
    )

    assert sighting.box_track() == [[1.0, 10, 20, 30, 40, 0.5], [1.5, 11, 21, 31, 41, 0.7]]
    assert json.loads(json.dumps(sighting.box_track())) == sighting.box_track()
    assert sighting.confidence == pytest.approx(0.6)
