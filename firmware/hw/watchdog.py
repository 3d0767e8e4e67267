"""The hardware watchdog, fed only by the supervisor and only while every task is alive.

Each task registers with the longest gap it may leave between two check-ins (a few of its
periods). `supervise(now)` feeds `machine.WDT` only when every task checked in within its gap; one
stale task, and the feeding stops: the chip resets after `timeout_ms` and boot.py floats the
outputs again. Once started, a WDT cannot be stopped (RP2040: at most 8388 ms; ESP32: at least
1000 ms). Check-in times are small ints in a preallocated list: no allocation per call.
"""

import time

from machine import WDT


class Watchdog:
    def __init__(self, timeout_ms):
        self.timeout_ms = timeout_ms
        self.names = []
        self.max_age = []
        self.last = []
        self.wdt = None
        self.feeds = 0
        self.stale = -1  # index of the first stale task at the last supervise(), -1 if none

    def register(self, name, max_age_ms, now):
        """A task that must check in at least every max_age_ms; returns its index."""
        self.names.append(name)
        self.max_age.append(max_age_ms)
        self.last.append(now)
        return len(self.names) - 1

    def start(self):
        if self.wdt is None:
            self.wdt = WDT(timeout=self.timeout_ms)

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
        """Feed the WDT if every task is alive; returns True when fed."""
        self.stale = self.healthy(now)
        if self.stale >= 0:
            return False
        if self.wdt is not None:
            self.wdt.feed()
        self.feeds += 1
        return True
