"""The per-minute schedule: clips aligned to the wall clock, minutes filled, films not repeated, fallbacks labelled."""

from __future__ import annotations

import pytest

from pipeline.schedule.plan import MINUTE, Clip, MinutePlan, plan_day, plan_minute


def _clip(snippet_id: int, minute_of_day: int, *, video: int | None = None, duration: float = 20.0,
          shown_at: float = 5.0, confidence: float = 0.9, both: bool = False) -> Clip:  # fmt: skip
    return Clip(snippet_id, video if video is not None else snippet_id, minute_of_day, both, duration, shown_at,
                confidence)  # fmt: skip


def _assert_fills_the_minute(plan: MinutePlan) -> None:
    position = 0.0
    for piece in plan.pieces:
        assert piece.at == pytest.approx(position), plan.pieces
        assert piece.length > 0
        position += piece.length
    assert position == pytest.approx(MINUTE)


def _assert_clocks_show_the_minute(plan: MinutePlan) -> None:
    for piece in plan.pieces:
        if piece.clip is None:
            continue
        start, end = piece.clip.window
        assert start - 1e-6 <= piece.play_from and piece.play_from + piece.length <= end + 1e-6, piece


def test_the_lead_clip_runs_with_the_wall_clock():
    clip = _clip(1, 600, duration=30.0, shown_at=12.0)

    plan = plan_minute([clip], 600)

    lead = next(piece for piece in plan.pieces if piece.clip == clip and piece.play_from == pytest.approx(12.0))
    # At HH:MM:SS the clip is at shown_at + SS: its clock shows the wall clock's time.
    assert lead.play_from - lead.at == pytest.approx(clip.shown_at)
    assert lead.length == pytest.approx(18.0)
    _assert_fills_the_minute(plan)
    _assert_clocks_show_the_minute(plan)


def test_a_clip_whose_minute_began_before_it_starts_later_in_the_minute():
    # The clock showed HH:MM:00 eight seconds before the clip begins.
    clip = _clip(1, 600, duration=20.0, shown_at=-8.0)

    plan = plan_minute([clip], 600)

    lead = [piece for piece in plan.pieces if piece.play_from == 0.0 and piece.at == pytest.approx(8.0)]
    assert lead, plan.pieces
    _assert_fills_the_minute(plan)
    _assert_clocks_show_the_minute(plan)


def test_several_clips_share_the_minute():
    clips = [_clip(1, 600, duration=25.0, shown_at=0.0), _clip(2, 600, duration=25.0, shown_at=0.0, confidence=0.6)]

    plan = plan_minute(clips, 600)

    assert {piece.clip.snippet_id for piece in plan.pieces} == {1, 2}
    assert plan.lead.snippet_id == 1, "the surer reading leads"
    _assert_fills_the_minute(plan)
    _assert_clocks_show_the_minute(plan)


def test_a_clip_past_its_minute_is_cut_at_the_minute_s_end():
    # The clip runs on into the next minute (its clock would show HH:MM+1 after shown_at + 60).
    clip = _clip(1, 600, duration=90.0, shown_at=10.0)

    plan = plan_minute([clip], 600)

    assert len(plan.pieces) == 1
    assert (plan.pieces[0].play_from, plan.pieces[0].length) == (pytest.approx(10.0), pytest.approx(60.0))


def test_a_film_does_not_lead_again_within_the_window():
    # Film 1 has a sure clip at every minute from 10:00 to 10:04; film 2 a less sure one.
    clips = [_clip(10 + m, 600 + m, video=1, confidence=0.95) for m in range(5)]
    clips += [_clip(20 + m, 600 + m, video=2, confidence=0.5) for m in range(5)]

    plans = plan_day(clips, day=1, no_repeat_minutes=1)

    assert [plans[600 + m].lead.video_id for m in range(5)] == [1, 2, 1, 2, 1]
    plans = plan_day(clips, day=1, no_repeat_minutes=0)
    assert [plans[600 + m].lead.video_id for m in range(5)] == [1] * 5


def test_equal_clips_take_turns_from_day_to_day():
    clips = [_clip(n, 600, confidence=0.9) for n in range(1, 5)]
    leads = {plan_day(clips, day=day)[600].lead.snippet_id for day in range(20)}
    assert len(leads) > 1


def test_a_clip_without_am_pm_serves_both_halves_of_the_day():
    clip = _clip(1, 4 * 60 + 20, both=True)
    plans = plan_day([clip], day=0)
    assert plans[4 * 60 + 20].lead == clip and not plans[4 * 60 + 20].fallback
    assert plans[16 * 60 + 20].lead == clip and not plans[16 * 60 + 20].fallback


def test_a_minute_without_clips_borrows_the_nearest_earlier_one_and_says_so():
    plans = plan_day([_clip(1, 23 * 60 + 50), _clip(2, 2)], day=0)

    assert plans[0].fallback and plans[0].served_minute == 23 * 60 + 50, "wraps back past midnight"
    assert plans[5].fallback and plans[5].served_minute == 2
    assert not plans[2].fallback and plans[2].served_minute == 2


def test_with_no_clips_at_all_every_minute_is_a_card():
    plans = plan_day([], day=0)
    assert all(plan.pieces[0].clip is None and plan.pieces[0].length == MINUTE for plan in plans)
    assert not any(plan.fallback for plan in plans)


def test_clips_too_short_to_show_are_left_out():
    # Its clock's minute ends half a second into the clip.
    plans = plan_day([_clip(1, 600, shown_at=-59.5)], day=0)
    assert plans[600].served_minute is None
