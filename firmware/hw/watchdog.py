"""The hardware watchdog, fed only by the supervisor and only while every task is alive.

Each task registers with the longest gap it may leave between two check-ins (its longest
period + STALL_MS). `supervise(now)` feeds `machine.WDT` only when every task checked in within
its gap; one stale task, and the feeding stops: the chip resets after `timeout_ms` and boot.py
floats the outputs again. Once started, a WDT cannot be stopped (RP2040: at most 8388 ms;
ESP32: at least 1000 ms). Check-in times are small ints in a preallocated list: no allocation
per call.

The hang guard: a stopped task leaves the other tasks running, so the supervisor sees it and
floats the outputs; a busy loop (or a blocking call) stops every task, the supervisor included,
and the outputs would stay driven until the WDT resets. So from `start()` a hard timer IRQ checks
every GUARD_TICK_MS that the supervisor fed within GUARD_MS; if not, it calls `on_hang()` once
(the app floats the outputs from there) and `supervise()` never feeds again: the WDT resets.
A hard IRQ runs whatever the CPU executes (Python or native code), unlike asyncio tasks or a
soft IRQ; a shorter WDT alone would reset the board at every long flash write instead.
"""

import time

from machine import WDT, Timer
from micropython import const

# The longest the event loop may stall every task at once in normal running: an event-log
# drain to flash (~6 ms an event: a full 64-event ring ~0.4 s), a collection, a light sleep.
# A task's check-in gap is its longest period + STALL_MS (firmware/app.py, PERIODS), so a task
# that stops floats the outputs at most its gap + the supervisor's 100 ms (+ a step) after its
# last check-in: under 1 s for every task. The longest gaps seen on the emulated Pico (make
# bench, check_in_gap_ms_*: full Multi traffic, BTV edges, a GX probe, event-log writes, a
# collection; low power after remote off, with and without the Multi; the largest of several
# runs), ms: inputs 87, protect 122, bus 75, leds 223, log 297, supervisor 143, idle 312.
STALL_MS = const(500)
GUARD_MS = const(600)  # the supervisor's 100 ms period + STALL_MS
GUARD_TICK_MS = const(100)  # worst case, outputs float GUARD_MS + GUARD_TICK_MS after a feed


class Watchdog:
    def __init__(self, timeout_ms):
        self.timeout_ms = timeout_ms
        self.names = []
        self.max_age = []
        self.last = []
        self.wdt = None
        self.feeds = 0
        self.stale = -1  # index of the first stale task at the last supervise(), -1 if none
        self.on_hang = None  # called once from the hard timer IRQ: must not allocate
        self.tripped = False
        self.clock = time.ticks_ms  # the guard's clock (tests replace it)
        self._fed_at = 0
        self._timer = None
        self._guard = self.guard  # bound once: the IRQ allocates nothing

    def register(self, name, max_age_ms, now):
        """A task that must check in at least every max_age_ms; returns its index."""
        self.names.append(name)
        self.max_age.append(max_age_ms)
        self.last.append(now)
        return len(self.names) - 1

    def start(self):
        if self.wdt is None:
            self.wdt = WDT(timeout=self.timeout_ms)
            self._fed_at = self.clock()
            self._timer = Timer(
                -1, mode=Timer.PERIODIC, period=GUARD_TICK_MS, callback=self._guard, hard=True
            )

    def guard(self, _timer=None):
        """The hard timer IRQ: the supervisor silent for GUARD_MS means a hang."""
        if not self.tripped and time.ticks_diff(self.clock(), self._fed_at) > GUARD_MS:
            self.tripped = True
            if self.on_hang is not None:
                self.on_hang()

    def check_in(self, i, now):
        self.last[i] = now

    def healthy(self, now):
        """-1 when every task checked in within its gap, else the index of a stale task."""
        last = self.last
        max_age = self.max_age
        for i in range(len(last)):
            if time.ticks_diff(now, last[i]) > max_age[i]:
                return i
        return -1

    def supervise(self, now):
        """Feed the WDT if every task is alive and no hang was seen; returns True when fed."""
        self.stale = self.healthy(now)
        if self.stale >= 0 or self.tripped:
            return False
        if self.wdt is not None:
            self.wdt.feed()
        self._fed_at = self.clock()
        self.feeds += 1
        return True
