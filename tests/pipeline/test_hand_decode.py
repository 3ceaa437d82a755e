"""The joint decode of the hands: the hour hand's angle must agree with the minute (30·h + 0.5·m)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.read import decode
from pipeline.read.decode import cyclic_soft_label, decode_joint, decode_plain, time_posterior


def _peak(bins: int, at: float, sigma: float = 1.0, floor: float = 1e-3) -> np.ndarray:
    probabilities = cyclic_soft_label(at, bins, sigma) + floor
    return probabilities / probabilities.sum()


def _hour_hand_at(hour: int, minute: int, bins: int = 120) -> float:
    return ((hour % 12) * 60 + minute) * bins / 720


def test_it_reads_what_both_hands_agree_on():
    time = decode_joint(_peak(60, 42), _peak(120, _hour_hand_at(10, 42)))
    assert (time.hour, time.minute) == (10, 42)
    assert time.confidence > 0.8


def test_an_hour_hand_nearly_at_the_next_hour_is_not_read_as_it_before_the_hour():
    # 6:51: the hour hand sits at 6.85 hours, so a plain hour head is torn between 6 and 7 and may pick 7.
    hour_head = np.full(12, 0.01)
    hour_head[7], hour_head[6] = 0.55, 0.35
    hour_head /= hour_head.sum()
    minute = _peak(60, 51)
    hour_hand = _peak(120, _hour_hand_at(6, 51), sigma=2.0)
    assert (decode_plain(minute, hour_head).hour, decode_plain(minute, hour_head).minute) == (7, 51)
    joint = decode_joint(minute, hour_hand, hour_head)
    assert (joint.hour, joint.minute) == (6, 51)
    # And just after the hour the hand is barely past it: 7:04 is not 6:04.
    joint = decode_joint(_peak(60, 4), _peak(120, _hour_hand_at(7, 4), sigma=2.0))
    assert (joint.hour, joint.minute) == (7, 4)


def test_the_minute_says_which_side_of_the_hour_a_doubtful_hour_hand_is_on():
    # The hour hand's head cannot tell 5:58 from 6:00 (both near 180 degrees); the minute can.
    hour_hand = _peak(120, 60, sigma=3.0)
    assert (decode_joint(_peak(60, 58), hour_hand).hour, decode_joint(_peak(60, 58), hour_hand).minute) == (5, 58)
    assert (decode_joint(_peak(60, 1), hour_hand).hour, decode_joint(_peak(60, 1), hour_hand).minute) == (6, 1)


def test_hands_read_the_wrong_way_round_lose_to_the_consistent_reading():
    # 10:09, where the minute head also half-believes the short hand (at 10, minute 50) is the long one.
    minute = 0.6 * _peak(60, 9) + 0.4 * _peak(60, 50.75)
    hour_hand = 0.6 * _peak(120, _hour_hand_at(10, 9)) + 0.4 * _peak(120, 9 * 2)
    time = decode_joint(minute, hour_hand)
    assert (time.hour, time.minute) == (10, 9)
    # 1:50 would need the hour hand at 55 degrees, near the 10-minute mark, and the hour head says 10.
    hour_head = np.full(12, 0.02)
    hour_head[10] = 0.78
    swapped = 0.45 * _peak(60, 9) + 0.55 * _peak(60, 50)
    time = decode_joint(swapped, 0.45 * _peak(120, _hour_hand_at(10, 9)) + 0.55 * _peak(120, 18.3), hour_head)
    assert (time.hour, time.minute) == (10, 9), "the hour head breaks the tie between the two readings"


def test_confidence_is_the_mass_within_a_minute_of_the_answer():
    flat = decode_joint(np.full(60, 1 / 60), np.full(120, 1 / 120))
    assert flat.confidence == pytest.approx(3 / 720, rel=1e-3)
    posterior = time_posterior(_peak(60, 30), _peak(120, _hour_hand_at(2, 30)))
    assert posterior.sum() == pytest.approx(1.0)
    assert int(posterior.argmax()) == 2 * 60 + 30


def test_soft_labels_wrap_around_the_dial():
    label = cyclic_soft_label(0, 60, 1.0)
    assert label.sum() == pytest.approx(1.0)
    assert label[59] == pytest.approx(label[1])
    assert label.argmax() == 0
    assert cyclic_soft_label(np.array([3, 59.5]), 60, 1.0).shape == (2, 60)


def _tilted_heads(hour: int, minute: int, tilt: float, sigma: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Hand heads that read a dial turned `tilt` degrees clockwise against the crop's up."""
    minute_degrees = minute * 6 + tilt
    hour_degrees = ((hour % 12) * 60 + minute) * 0.5 + tilt
    return _peak(60, minute_degrees / 6, sigma), _peak(120, hour_degrees / 3, sigma)


def test_a_turned_dial_is_read_against_its_own_twelve():
    # 4:00 on a dial turned 15 degrees clockwise: the minute hand shows at 2.5 minutes past.
    minute, hour_hand = _tilted_heads(4, 0, 15.0)
    up = _peak(120, 15.0 / 3)
    time = decode_joint(minute, hour_hand, up=up)
    assert (time.hour, time.minute) == (4, 0)
    upright = decode_joint(minute, hour_hand)
    assert (upright.hour, upright.minute) != (4, 0), "read against the crop's up it is off by the tilt"
    # The same hands with the dial's 12 straight up are 4:02 or 4:03.
    straight = decode_joint(minute, hour_hand, up=_peak(120, 0.0))
    assert straight.hour == 4 and straight.minute in (2, 3)


def test_a_doubtful_tilt_is_settled_by_what_the_hands_agree_on():
    # The tilt head cannot tell 0 from 15 degrees, but only one of them puts the hour hand where the
    # minute says it must be: turned back by 15 degrees, the hands would say the minute hand is at
    # 37.5 and the hour hand at 10:10's place, 13.5 degrees short of 10:37's.
    minute, hour_hand = _tilted_heads(10, 40, 0.0)
    up = 0.5 * _peak(120, 0.0) + 0.5 * _peak(120, 15.0 / 3)
    time = decode_joint(minute, hour_hand, up=up)
    assert (time.hour, time.minute) == (10, 40)
    posterior = time_posterior(minute, hour_hand, up=up)
    assert posterior.sum() == pytest.approx(1.0)
    assert time.confidence > 0.6, "the tilt that breaks the hands' agreement has no share"


def test_without_a_tilt_head_the_hands_are_read_against_the_dial():
    minute, hour_hand = _tilted_heads(7, 25, 0.0)
    assert np.allclose(time_posterior(minute, hour_hand), time_posterior(minute, hour_hand, up=_peak(120, 0, 0.05)),
                       atol=1e-3)  # fmt: skip


def test_combined_posteriors_agree_where_both_readings_allow():
    from pipeline.read.decode import decode_posterior, geometric_mean

    # One reading is torn between 1:50 and 10:10 (the hands swapped); the other between 10:10
    # and 10:20. Multiplied, only 10:10 is likely under both.
    first, second = np.full(720, 1e-4), np.full(720, 1e-4)
    first[[110, 610]] = 0.5
    second[[610, 620]] = 0.5
    combined = geometric_mean([first / first.sum(), second / second.sum()])
    assert combined.sum() == pytest.approx(1)
    time = decode_posterior(combined)
    assert (time.hour, time.minute) == (10, 10) and time.confidence > 0.8
    assert combined[610] > 50 * max(combined[110], combined[620])
    # One posterior alone comes back as it was (up to the floor that keeps zeros finite).
    assert np.allclose(geometric_mean([first / first.sum()]), first / first.sum(), rtol=0.02)


def test_the_geometric_mean_keeps_rows_apart():
    from pipeline.read.decode import geometric_mean

    # The reader's views vote row by row (one row per crop): each row is its own mean.
    rng = np.random.default_rng(4)
    first, second = rng.random((3, 60)), rng.random((3, 60))
    rows = geometric_mean([first, second])
    for index in range(3):
        assert np.allclose(rows[index], geometric_mean([first[index], second[index]]))
        assert rows[index].sum() == pytest.approx(1)


def test_the_minute_hand_is_looked_for_where_the_convention_puts_it(monkeypatch):
    """A hand three quarters of the way from 30 to 31 is read 10:31 at the mark (the nearest mark),
    10:30 where the hand is looked for half a minute past it (the mark passed)."""
    minute, hour_hand = _peak(60, 30.75, sigma=0.3), _peak(120, _hour_hand_at(10, 30.75), sigma=0.3)
    assert decode.MINUTE_HAND_PAST_MARK == 0.0, "the real split's convention is the default"
    assert (decode_joint(minute, hour_hand).hour, decode_joint(minute, hour_hand).minute) == (10, 31)
    monkeypatch.setattr(decode, "MINUTE_HAND_PAST_MARK", 0.5)
    assert (decode_joint(minute, hour_hand).hour, decode_joint(minute, hour_hand).minute) == (10, 30)


def test_the_reader_reads_the_hands_without_the_plain_hour_heads_vote():
    # The hands say 6:51 (the hour hand near 7) while the 12-way hour head is sure of 3: the joint
    # decode with the hour head reads 3-something, the reader's own decode reads the hands.
    from pipeline.read.hand_net import KINDS
    from pipeline.read.reader import hand_reading

    hour_head = np.full(12, 1e-4)
    hour_head[3] = 1.0
    heads = {
        "kind": np.array([1.0 if kind == "analog" else 0.0 for kind in KINDS]),
        "minute": _peak(60, 51, sigma=1.5),
        "hour_hand": _peak(120, _hour_hand_at(6, 51), sigma=3.0, floor=1e-2),
        "hour": hour_head / hour_head.sum(),
    }
    assert hand_reading(heads, "joint").hour == 3, "the hour head outvotes these hands when it has a vote"
    reading = hand_reading(heads)
    assert (reading.hour, reading.minute) == (6, 51)
