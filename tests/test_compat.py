"""Tick arithmetic the firmware relies on, on both VMs (host: tools/hostcompat.py)."""

import sys
import time

from micropython import const

_C = const(7)


def test_const_is_identity():
    assert _C == 7


def test_ticks_diff_and_add_are_inverse():
    t0 = time.ticks_ms()
    for delta in (0, 1, 1000, 60_000, 86_400_000, -5, -100_000):
        assert time.ticks_diff(time.ticks_add(t0, delta), t0) == delta


def test_ticks_diff_across_the_wrap():
    # Just past a wrap the later tick is numerically smaller: ticks_diff must still see +10.
    period = _period()
    last = period - 5
    later = time.ticks_add(last, 10)
    assert later == 5
    assert time.ticks_diff(later, last) == 10
    assert time.ticks_diff(last, later) == -10


def test_host_ticks_wrap_like_a_board():
    if sys.implementation.name != "micropython":
        assert _period() == 1 << 30


def test_ticks_are_monotonic_over_a_short_sleep():
    a = time.ticks_ms()
    time.sleep_ms(2)
    assert time.ticks_diff(time.ticks_ms(), a) >= 1


def _period():
    # The wrap period of this VM's ticks: ticks_add(0, -1) is the largest tick value.
    return time.ticks_add(0, -1) + 1  # pyright: ignore[reportArgumentType]  (a plain int tick)
