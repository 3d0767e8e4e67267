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
"""

import time

import machine

AHEAD_MS = 1 << 26


class VClock:
    def __init__(self, start=None):
        if start is None:
            start = time.ticks_add(time.ticks_ms(), AHEAD_MS)
        self.t = start
        self.hooks = []

    def ticks_ms(self):
        return self.t

    def advance(self, ms):
        self.t = time.ticks_add(self.t, ms)


def install(clock, check_wdt=True):
    import asyncio.core as core  # pyright: ignore[reportMissingImports]  (MicroPython only)

    core.cur_task = None  # a task that ended in ResetRequested would keep its app alive
    io = core._io_queue
    poll = io.wait_io_event  # the original bound method
    core.ticks = clock.ticks_ms
    machine.set_clock(clock.ticks_ms)
    machine.sleep_hook = clock.advance
    hooks = clock.hooks

    def wait(dt):
        if dt < 0:
            raise RuntimeError("vclock: no task can ever wake (deadlock)")
        step = dt
        while True:
            if step > 0:
                clock.advance(1 if step > 1 else step)
                step -= 1
            for h in hooks:
                h(clock.t)
            if check_wdt and machine.wdt is not None and machine.wdt.expired(clock.t):
                raise machine.ResetRequested()
            if step <= 0:
                break
        poll(0)

    io.wait_io_event = wait
    return clock
