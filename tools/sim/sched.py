"""The simulator's default scheduler: virtual time, one heap, the asyncio subset the firmware uses.

The firmware's tasks are thin loops `while True: step(now); await asyncio.sleep_ms(period)`
started with `asyncio.create_task` (firmware/app.py). On CPython a full asyncio event loop spends
about 80 % of a simulation in its own machinery (futures, handles, callbacks per wake-up), so this
scheduler runs those coroutines directly: `await asyncio.sleep_ms(ms)` / `asyncio.sleep(s)` yield
a wake-up time, `asyncio.create_task(coro)` adds a task, and the heap of (time, order) decides
who runs next -- the same order asyncio gives (earliest timer first, FIFO on ties), at a fraction
of the cost. The simulated devices' timers (`call_at`) share the heap and the clock.

It implements exactly that subset, like MicroPython's own asyncio is a subset: a coroutine that
awaits anything else (a Future, an Event, a stream) stops the run with `Unsupported`, naming it;
`--scheduler asyncio` then runs the same simulation on tools/sim/vclock.py's virtual-clock asyncio
event loop instead (slower, complete). While a run is active `asyncio.sleep_ms`, `asyncio.sleep`
and `asyncio.create_task` are patched, and restored afterwards.

Time is kept in whole microseconds (no float drift); `time()` is seconds, `now_ms()` ms.
"""

import asyncio
import heapq
import itertools
import time
from typing import Any


class Unsupported(RuntimeError):
    """The firmware awaited something this scheduler does not implement."""


class _Sleep:
    __slots__ = ("us",)

    def __init__(self, us):
        self.us = us

    def __await__(self):
        yield self


class Task:
    """What `asyncio.create_task` returns here: cancel() and done() only."""

    __slots__ = ("coro", "cancelled", "finished", "name", "exc")

    def __init__(self, coro):
        self.coro = coro
        self.cancelled = False
        self.finished = False
        self.exc: Any = None
        self.name = getattr(coro, "__qualname__", "task")

    def cancel(self):
        if not self.finished:
            self.cancelled = True
        return True

    def done(self):
        return self.finished or self.cancelled


class _Call:
    __slots__ = ("fn", "args")

    def __init__(self, fn, args):
        self.fn = fn
        self.args = args


class Scheduler:
    def __init__(self, start=0.0):
        self.us = round(start * 1e6)
        self.heap = []
        self._count = itertools.count()
        self._sleeps = {}  # one immutable _Sleep per period: no object per wake-up
        self._saved = None
        self.wakeups = 0
        # fn(task, exc) when a task ends with an exception (asyncio keeps it in the task and
        # carries on; so does this scheduler, after telling the hook). None: re-raise.
        self.on_task_error: Any = None

    # ---- clock ----
    def time(self):
        return self.us / 1e6

    def now_ms(self):
        return self.us / 1000.0

    def sleep_ms(self, ms):
        """The CPU sleeps (machine.lightsleep): the clock moves on, nothing runs meanwhile."""
        self.us += round(ms * 1000)

    # ---- scheduling ----
    def _push(self, us, item):
        heapq.heappush(self.heap, (us, next(self._count), item))

    def call_at(self, when, fn, *args):
        self._push(max(self.us, round(when * 1e6)), _Call(fn, args))

    def call_soon(self, fn, *args):
        self._push(self.us, _Call(fn, args))

    def create_task(self, coro):
        t = Task(coro)
        self._push(self.us, t)
        return t

    # ---- the asyncio subset, patched in while running ----
    def install(self):
        """Patch the asyncio subset (and a faster time.ticks_ms) in; idempotent."""
        if self._saved is not None:
            return
        self._saved = (
            getattr(asyncio, "sleep_ms", None),
            asyncio.sleep,
            asyncio.create_task,
            getattr(time, "ticks_ms", None),
        )
        sleeps = self._sleeps

        def sleep_ms(ms):
            s = sleeps.get(ms)
            if s is None:
                s = sleeps[ms] = _Sleep(round(ms * 1000))
            return s

        def sleep(s, result=None):
            return _Sleep(round(s * 1e6))

        asyncio.sleep_ms = sleep_ms  # pyright: ignore[reportAttributeAccessIssue]
        asyncio.sleep = sleep  # pyright: ignore[reportAttributeAccessIssue]
        asyncio.create_task = self.create_task  # pyright: ignore[reportAttributeAccessIssue]
        ticks = self._saved[3]
        if ticks is not None and getattr(ticks, "__module__", "") == "tools.hostcompat":
            # The same value as tools.hostcompat.ticks_ms on this clock, without three calls.
            from tools import hostcompat

            off = hostcompat._offset_ms
            mask = hostcompat.TICKS_MAX

            def ticks_ms():
                return (self.us // 1000 + off) & mask

            time.ticks_ms = ticks_ms  # pyright: ignore[reportAttributeAccessIssue]

    def uninstall(self):
        if self._saved is not None:
            sleep_ms, sleep, create_task, ticks = self._saved
            if sleep_ms is not None:
                asyncio.sleep_ms = sleep_ms  # pyright: ignore[reportAttributeAccessIssue]
            asyncio.sleep = sleep
            asyncio.create_task = create_task
            if ticks is not None:
                time.ticks_ms = ticks  # pyright: ignore[reportAttributeAccessIssue]
            self._saved = None

    def run_until(self, end):
        """Run every task and timer due up to `end` seconds; the clock ends at `end`."""
        end_us = round(end * 1e6)
        heap = self.heap
        pop = heapq.heappop
        hpush = heapq.heappush
        count = self._count
        installed_here = self._saved is None
        self.install()
        try:
            while heap and heap[0][0] <= end_us:
                us, _seq, item = pop(heap)
                self.us = us
                if type(item) is Task:
                    if item.cancelled:
                        item.coro.close()
                        continue
                    self.wakeups += 1
                    try:
                        y = item.coro.send(None)  # may move the clock (machine.lightsleep)
                    except StopIteration:
                        item.finished = True
                        continue
                    except (KeyboardInterrupt, SystemExit):
                        raise
                    except BaseException as e:  # noqa: B036  (machine.ResetRequested too)
                        item.finished = True
                        item.exc = e
                        if self.on_task_error is None:
                            raise
                        self.on_task_error(item, e)
                        continue
                    if type(y) is not _Sleep:
                        item.coro.close()
                        raise Unsupported(
                            "%s awaited %r: the simulator's scheduler implements only "
                            "asyncio.sleep_ms / sleep / create_task (use --scheduler asyncio)"
                            % (item.name, y)
                        )
                    hpush(heap, (self.us + y.us, next(count), item))
                else:
                    item.fn(*item.args)
            self.us = max(self.us, end_us)
        finally:
            if installed_here:
                self.uninstall()

    def close(self):
        for _us, _seq, item in self.heap:
            if type(item) is Task:
                item.coro.close()
        self.heap.clear()
