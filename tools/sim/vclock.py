"""A virtual-clock asyncio event loop for CPython: no wall-clock sleeps, ever.

`VirtualLoop` is a standard `asyncio.SelectorEventLoop` whose `time()` is a virtual clock and
whose selector, instead of blocking for `timeout` seconds, moves the clock forward by `timeout`
(the time until the next timer) and returns no I/O events. Tasks written for asyncio — the
firmware's `asyncio.sleep_ms` loops included — run unchanged, in order, as fast as the CPU allows.

`install_ticks(loop)` points `time.ticks_ms()` (tools/hostcompat) at the loop's clock, so the
firmware's ticks and the loop's timers agree to the millisecond.
"""

import asyncio
import selectors
from typing import Any

from tools import hostcompat


class Deadlock(RuntimeError):
    """Nothing is scheduled and nothing can wake the loop: virtual time cannot advance."""


class _VirtualSelector(selectors.BaseSelector):
    """Advances the clock instead of waiting; the loop's self-pipe is registered but never read."""

    def __init__(self):
        self._map = {}
        self.loop: Any = None

    def register(self, fileobj, events, data=None):
        key = selectors.SelectorKey(fileobj, _fd(fileobj), events, data)
        self._map[fileobj] = key
        return key

    def unregister(self, fileobj):
        return self._map.pop(fileobj)

    def select(self, timeout=None):
        if timeout is None:
            raise Deadlock("virtual loop: no timer scheduled, nothing can wake the loop")
        if timeout > 0 and self.loop is not None:
            self.loop.advance_to_next(timeout)
        return []

    def close(self):
        self._map.clear()

    def get_map(self):
        return self._map


def _fd(fileobj):
    return fileobj if isinstance(fileobj, int) else fileobj.fileno()


class VirtualLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on virtual time, starting at `start` seconds."""

    def __init__(self, start=0.0):
        sel = _VirtualSelector()
        self._us = round(start * 1e6)  # the clock, in whole microseconds: no float drift
        super().__init__(sel)
        sel.loop = self
        self._clock_resolution = 1e-6

    def time(self):
        return self._us / 1e6

    def advance_to_next(self, timeout):
        """Jump to the earliest timer (its exact microsecond), or by `timeout` if it is later."""
        # asyncio's timer heap: [0] is the earliest
        sched = self._scheduled  # pyright: ignore[reportAttributeAccessIssue]
        step = round(timeout * 1e6)
        if sched:
            when = round(sched[0].when() * 1e6)
            if when - self._us <= step + 1:
                step = when - self._us
        if step > 0:
            self._us += step

    def now_ms(self):
        return self._us / 1000.0

    def sleep_ms(self, ms):
        """The CPU sleeps (machine.lightsleep): the clock moves on, nothing runs meanwhile."""
        self._us += round(ms * 1000)

    def run_until(self, end):
        """Run everything due up to `end` seconds (the runner's interface, as sched.Scheduler)."""
        self.run_until_complete(asyncio.sleep(max(0.0, end - self.time())))

    def shutdown(self):
        pending = asyncio.all_tasks(self)
        for t in pending:
            t.cancel()
        if pending:
            self.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.close()


def install_ticks(loop, offset_ms=None):
    """Make time.ticks_ms()/ticks_us() read the loop's virtual clock (None: back to wall clock)."""
    if loop is None:
        hostcompat.set_clock(None)
    else:
        hostcompat.set_clock(loop.now_ms, offset_ms)
