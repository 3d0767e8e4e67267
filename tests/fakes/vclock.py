"""Virtual time for the firmware's asyncio tasks on the MicroPython unix port. Never deployed.

    clock = VClock()
    install(clock)              # after asyncio.new_event_loop(): patches asyncio.core
    app = App(board, settings, ticks_ms=clock.ticks_ms, root=...)
    asyncio.run(main())         # sleeps now cost no wall time

MicroPython's asyncio.core reads time through its module global `ticks` and waits for the next
task in `_io_queue.wait_io_event(dt)`. install() points the first at the virtual clock and makes
the second advance the clock by dt and poll I/O without blocking. The C task queue (_asyncio)
stamps a task pushed without a time (create_task, Event.set) with the REAL ticks_ms, so the
virtual clock starts 2**26 ms (18.6 h) ahead of the real one: those tasks are due at once, as
they should be, for up to 130 virtual hours.

The fake machine's WDT and lightsleep use the same clock: install() sets machine.set_clock and
machine.sleep_hook, and each wait checks the watchdog: an expired WDT raises
machine.ResetRequested out of asyncio.run, as the chip would reset.
hooks: callables hook(now) run at each advance (a scripted Multi, a battery model...).

On CPython the same tests run on one virtual-time asyncio loop per install() (tools/sim/vclock.py's
VirtualLoop, advancing this clock 1 ms at a time with the hooks and the watchdog check):
    fresh()        instead of asyncio.new_event_loop() (also drops the tasks of an earlier run)
    run(coro)      instead of asyncio.run(coro): the app's tasks live on across calls, as on
                   MicroPython, where asyncio.run leaves the other tasks queued
"""

import sys
import time

import machine

ON_VM = sys.implementation.name == "micropython"
_loop = None  # CPython: the loop of the last install()

AHEAD_MS = 1 << 26


class VClock:
    def __init__(self, start=None):
        if start is None:
            start = time.ticks_add(time.ticks_ms(), AHEAD_MS)
        self.t = start
        self.elapsed = 0  # ms since start, never wraps (the CPython loop's time)
        self.hooks = []

    def ticks_ms(self):
        return self.t

    def advance(self, ms):
        self.t = time.ticks_add(self.t, ms)
        self.elapsed += ms


def _tick(clock, check_wdt):
    for h in clock.hooks:
        h(clock.t)
    if check_wdt and machine.wdt is not None and machine.wdt.expired(clock.t):
        raise machine.ResetRequested()


def fresh():
    """A new event loop for the next install(): the tasks of an earlier run are dropped."""
    import asyncio

    global _loop
    if ON_VM:
        asyncio.new_event_loop()
        asyncio.core.cur_task = None  # pyright: ignore[reportAttributeAccessIssue]
    elif _loop is not None:
        _loop.live = False  # no hooks, no watchdog: the tasks just end
        _loop.shutdown()
        _loop = None


def run(coro):
    """asyncio.run(coro) on the installed virtual clock."""
    if ON_VM:
        import asyncio

        return asyncio.run(coro)
    if _loop is None:
        raise RuntimeError("vclock: install() a clock first")
    return _loop.run_until_complete(coro)


def install(clock, check_wdt=True):
    if not ON_VM:
        return _install_host(clock, check_wdt)
    import asyncio.core as core  # pyright: ignore[reportMissingImports]  (MicroPython only)

    core.cur_task = None  # a task that ended in ResetRequested would keep its app alive
    io = core._io_queue
    poll = io.wait_io_event  # the original bound method
    core.ticks = clock.ticks_ms
    machine.set_clock(clock.ticks_ms)
    machine.sleep_hook = clock.advance

    def wait(dt):
        if dt < 0:
            raise RuntimeError("vclock: no task can ever wake (deadlock)")
        step = dt
        while True:
            if step > 0:
                clock.advance(1 if step > 1 else step)
                step -= 1
            _tick(clock, check_wdt)
            if step <= 0:
                break
        poll(0)

    io.wait_io_event = wait
    return clock


def _install_host(clock, check_wdt):
    from tools.sim.vclock import VirtualLoop

    global _loop

    import asyncio

    class Loop(VirtualLoop):
        live = True
        reset = None  # ResetRequested raised in a task: CPython keeps it there, a chip resets

        def _run_once(self):
            super()._run_once()  # pyright: ignore[reportAttributeAccessIssue]
            if self.reset is not None:
                r, self.reset = self.reset, None
                raise r

        def time(self):
            return clock.elapsed / 1000

        def advance_to_next(self, timeout):
            step = int(timeout * 1000 + 0.999)  # whole ms: the timer is due after them
            for _ in range(max(step, 1)):
                clock.advance(1)
                if self.live:
                    _tick(clock, check_wdt)

    fresh()
    machine.set_clock(clock.ticks_ms)
    machine.sleep_hook = clock.advance
    _loop = Loop()

    def task(loop, coro, **kw):
        t = asyncio.Task(coro, loop=loop, **kw)
        t.add_done_callback(done)
        return t

    def done(t):
        if not t.cancelled() and isinstance(t.exception(), machine.ResetRequested):
            t.get_loop().reset = t.exception()  # pyright: ignore[reportAttributeAccessIssue]

    _loop.set_task_factory(task)
    return clock
