"""The process-wide caches of catalog reads (catalog/caches.py), apart from the queries that fill them."""

from __future__ import annotations

from datetime import UTC, datetime

from catalog.caches import ScheduleCache, ShotBoundaryCache


def test_the_schedule_reloads_only_when_its_version_changes_and_checks_no_more_often_than_set(settings):
    settings.SCHEDULE_REFRESH_SECONDS = 0
    version, loads = [1], []

    def load():
        loads.append(version[0])
        return {version[0]: f"snippet {version[0]}"}, []

    cache = ScheduleCache(version=lambda: version[0], load=load)
    assert cache.state().snippets == {1: "snippet 1"}
    cache.state()
    assert loads == [1], "the same version is not loaded again"
    version[0] = 2
    assert cache.state().snippets == {2: "snippet 2"} and loads == [1, 2]

    settings.SCHEDULE_REFRESH_SECONDS = 3600
    version[0] = 3
    assert cache.state().version == 2, "not looked at again within the refresh interval"
    cache.reset()
    assert cache.state().version == 3


def test_day_plans_are_made_once_per_day_and_version(settings):
    settings.SCHEDULE_REFRESH_SECONDS = 0
    made = []
    cache = ScheduleCache(version=lambda: "v", load=lambda: ({}, []))

    def plan(clips):
        made.append(len(made))
        return [f"plan {len(made)}"]

    first = cache.day(738000, plan)
    again = cache.day(738000, plan)
    cache.day(738001, plan)
    assert first == again == (["plan 1"], {}, "v") and len(made) == 2


def test_shot_boundaries_are_kept_per_video_version_and_the_oldest_go_first():
    first, rescan = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    updated = {1: first, 2: first, 3: first}
    asked = []

    def load(ids):
        asked.append(sorted(ids))
        return [(pk, updated[pk], [float(pk), updated[pk].day]) for pk in ids]

    cache = ShotBoundaryCache(load=load, kept=2)
    assert cache.get({(1, first), (2, first)}) == {1: [1.0, 1], 2: [2.0, 1]}
    assert cache.get({(1, first)}) == {1: [1.0, 1]} and asked == [[1, 2]], "kept: not asked again"
    updated[2] = rescan
    assert cache.get({(2, rescan)}) == {2: [2.0, 2]} and asked[-1] == [2], "a rescanned video is read again"
    cache.get({(3, first)})  # two are kept: the least recently used, video 1, goes
    cache.get({(2, rescan)})
    assert asked[-1] == [3]
    cache.get({(1, first)})
    assert asked[-1] == [1]
