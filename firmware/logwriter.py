"""The log task's work: flash writes (the latched-fault record, the event log) and the garbage
collection their allocations call for, each in a sync cycle's quiet part.

    w = LogWriter(log, events, latch, role, now)
    w.latch_dirty = True                 # protect: the latched-fault state changed
    wait = w.step(now, out)              # 0, or ms until the log task should come back

Why the timing matters: a littlefs write is C code that runs 3-5 ms on an RP2040 (the emulated
Pico: one open/write/close with its metadata commit), a collection of the whole app's heap
~16 ms, and the Multi port's RX-idle soft IRQ cannot run until they return: a sync arriving
then gets its frame late. So with the Multi's syncs known (BmsRole.sync_period, last_sync) a
write starts after this sync's slot (SLOT_MS) and early enough to end SYNC_GUARD_MS before the
next sync; one write per cycle (the latch record first). Steady running allocates nothing but
these writes (~1.3 kB each: littlefs's buffers), so after GC_SAVES of them the heap is
collected here, in a cycle whose slot has no frame due, rather than wherever an allocation
finds it full. Without the Multi (after listening for it 200 ms from boot), all at once.
"""

import gc
import time

from micropython import const

from firmware.bms.role import SLOT_MS, SYNC_GUARD_MS

FLASH_MS = const(5)  # the longest write (event batch or latch record) on an RP2040
GC_SAVES = const(48)  # writes (~62 kB allocated) between collections; the heap has ~140 kB free
_NEVER = const(1 << 20)  # no Multi: no frame is ever due
_LISTEN_MS = const(200)  # from boot: ten syncs of a Multi that is there
_LISTEN_STEP_MS = const(10)


class LogWriter:
    def __init__(self, log, events, latch, role, now):
        self.log = log  # core.events.EventLog (RAM)
        self.events = events  # core.eventfile.EventFile (flash)
        self.latch = latch  # core.latch.LatchStore
        self.role = role
        self.latch_dirty = False
        self.saves = 0  # flash writes since the last collection
        self._start = now

    def step(self, now, out):
        """Do the one thing due now, if its time in the sync cycle has come; returns 0 or the
        ms until the log task should come back for the rest."""
        collect = self.saves >= GC_SAVES
        if not self.latch_dirty and not self.log.pending() and not collect:
            return 0
        wait = self.wait_ms(now)
        if wait:
            return wait
        role = self.role
        if self.latch_dirty:
            self.latch_dirty = False
            self.latch.save(out.latched, out.latch_reason)
            self.saves += 1
        elif self.log.pending():
            self.events.save(self.log)
            self.saves += 1
        else:
            due = role.frame_due_in(now) if role.multi_present else _NEVER
            if due <= role.sync_period:  # a frame in the next slot: after it
                return (due if due > 0 else 0) + role.sync_period
            gc.collect()  # it runs into the next sync: no frame is due in its slot
            self.saves = 0
            return 0
        if self.latch_dirty or self.log.pending() or collect:  # in a later cycle's window
            return role.sync_period or 1
        return 0

    def wait_ms(self, now):
        """0 when a write may start now, else the ms until it may."""
        role = self.role
        p = role.sync_period
        if not role.multi_present or not p:
            # after boot, the Multi's syncs first (their period places the writes), not forever
            return _LISTEN_STEP_MS if time.ticks_diff(now, self._start) < _LISTEN_MS else 0
        if p <= SLOT_MS + SYNC_GUARD_MS + FLASH_MS:
            return 0  # a period too short to fit a write between two slots: write anyway
        d = time.ticks_diff(now, role.last_sync) % p  # a sync missed: the Multi keeps its phase
        if d <= SLOT_MS:
            return SLOT_MS + 1 - d
        if d <= p - SYNC_GUARD_MS - FLASH_MS:
            return 0
        return p - d + SLOT_MS + 1
