"""The log task's flash writes (the latched-fault record, the event log), each in a sync cycle's
quiet part.

    w = LogWriter(log, events, latch, role, now)
    w.latch_dirty = True                 # protect: the latched-fault state changed
    wait = w.step(now, out)              # 0, or ms until the log task should come back

Why the timing matters: a littlefs write is C code the Multi port's RX-idle soft IRQ cannot
interrupt: a sync arriving then gets its frame late. So with the Multi's syncs known
(BmsRole.sync_period, last_sync) a write starts after this sync's slot (SLOT_MS) and early enough
to end SYNC_GUARD_MS before the next sync; one write per cycle (the latch record first, then one
batch of events a cycle: a burst of events never puts two writes in one cycle). New events are
encoded into the batch (Python, which the IRQ does interrupt) in the steps before their write,
_ENCODE_MAX a step.
After boot, writes wait up to _LISTEN_MS for the syncs' period; without the Multi, at once.

What a write costs grows with what the event file's last block holds (littlefs copies it into a
fresh block at every committed append: eventfile.py): on the emulated Pico 1.3-2.2 ms while it
holds a few hundred bytes, 13-15 ms at 3.9 KB, which no longer fits between two slots; a real
flash adds a sector erase (tens of ms, every interrupt held). FLASH_MS covers the short case only.
"""

import time

from micropython import const

# firmware/bms/role.py's (tests/host/test_consts.py keeps the copies equal)
_SLOT_MS = const(3)
_SYNC_GUARD_MS = const(6)
FLASH_MS = const(5)  # a write while the event file's last block holds under ~1 KB (above)
_LISTEN_MS = const(200)  # from boot: ten syncs of a Multi that is there
_LISTEN_STEP_MS = const(10)
_ENCODE_MAX = const(4)  # events encoded a step (~0.25 ms each on an RP2040): a burst is spread


class LogWriter:
    def __init__(self, log, events, latch, role, now):
        self.log = log  # core.events.EventLog (RAM)
        self.events = events  # core.eventfile.EventFile (flash)
        self.latch = latch  # core.latch.LatchStore
        self.role = role
        self.latch_dirty = False
        self._start = now

    def step(self, now, out):
        """Write one thing due now, if its time in the sync cycle has come; returns 0 or the ms
        until the log task should come back for the rest."""
        ev = self.events
        log = self.log
        # New events are encoded now (Python: the RX-idle IRQ runs between its bytecodes) and
        # written in a later step: the write's own cycle carries the write alone.
        fresh = ev.collect(log, _ENCODE_MAX) if log.pending() else 0
        if not self.latch_dirty and not ev.held():
            return 0
        wait = self.wait_ms(now)
        if wait:
            return wait
        if fresh:  # the next cycle's quiet part (or more to encode first)
            return self.role.sync_period or 1
        if self.latch_dirty:
            self.latch_dirty = False
            self.latch.save(out.latched, out.latch_reason)
            if ev.held():  # the events in the next cycle's quiet part
                return self.role.sync_period or 1
            return 0
        ev.flush()
        if log.pending():  # more than a batch: the rest from the next cycle on
            return self.role.sync_period or 1
        return 0

    def wait_ms(self, now):
        """0 when a flash write may start now, else the ms until it may."""
        role = self.role
        p = role.sync_period
        if not role.multi_present or not p:
            return _LISTEN_STEP_MS if time.ticks_diff(now, self._start) < _LISTEN_MS else 0
        if p <= _SLOT_MS + _SYNC_GUARD_MS + FLASH_MS:
            return 0  # a period too short to fit a write between two slots: write anyway
        d = time.ticks_diff(now, role.last_sync) % p  # a sync missed: the Multi keeps its phase
        if d <= _SLOT_MS:
            return _SLOT_MS + 1 - d
        if d <= p - _SYNC_GUARD_MS - FLASH_MS:
            return 0
        return p - d + _SLOT_MS + 1
