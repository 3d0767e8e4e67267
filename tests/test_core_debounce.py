"""firmware/core/debounce.py: "a level counts once it has been read unchanged for `ms`" (the
manual's BTV inputs and the remote on/off terminal are debounced so). Runs on both VMs."""

import time

from firmware.core.debounce import Debounce

T0 = time.ticks_add(0, -5)  # pyright: ignore[reportArgumentType]  (crosses the wrap)


def _at(ms):
    return time.ticks_add(T0, ms)  # pyright: ignore[reportArgumentType]


def test_zero_ms_counts_the_first_sample():
    d = Debounce(0)
    assert d.feed(_at(0), 1) and d.level == 1
    assert d.feed(_at(1), 0) and d.level == 0  # each change counts at once
    assert not d.feed(_at(2), 0)


def test_one_ms_needs_the_level_read_again_a_ms_later():
    d = Debounce(1)
    assert not d.feed(_at(0), 1) and d.level == -1  # read once: not yet
    assert not d.feed(_at(0), 1)  # read again at the same ms: not unchanged for 1 ms
    assert d.feed(_at(1), 1) and d.level == 1


def test_a_glitch_shorter_than_ms_never_counts():
    d = Debounce(50)
    d.feed(_at(0), 1)
    assert d.feed(_at(50), 1) and d.level == 1
    assert not d.feed(_at(60), 0)
    assert not d.feed(_at(109), 0)  # 49 ms low
    assert not d.feed(_at(110), 1)  # back high: the low never counted
    assert not d.feed(_at(200), 1) and d.level == 1


def test_settled_only_on_the_level_with_nothing_pending():
    d = Debounce(50)
    assert not d.settled(0) and not d.settled(1)  # unknown
    d.feed(_at(0), 1)
    assert not d.settled(1)  # a candidate, not yet the level
    d.feed(_at(50), 1)
    assert d.settled(1) and not d.settled(0)
    d.feed(_at(60), 0)  # another level pending
    assert not d.settled(1) and not d.settled(0)
    d.reset()
    assert not d.settled(1) and not d.settled(0)
