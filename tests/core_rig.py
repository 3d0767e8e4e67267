"""A test rig for firmware/core's Protection: settings overrides, a virtual tick clock that starts
just before the tick wrap (the first step is at START), and condition setters in the manual's
words that take effect at the current tick (they step once). Used by the dual-VM tests
and the host property tests. Not a test module itself."""

import time

from firmware.core.codes import (
    R_CHARGE_BLOCK,
    R_HIGH_CELL,
    R_HIGH_TEMP,
    R_LOW_CELL,
    R_LOW_TEMP,
    R_OPEN_LOOP,
    R_PREALARM,
    R_STUCK,
)
from firmware.core.events import EventLog, text
from firmware.core.protection import Protection
from firmware.core.settings import Settings

START = time.ticks_add(0, -20000)  # pyright: ignore[reportArgumentType]  (20 s before the wrap)


class Rig:
    def __init__(self, latched=False, latch_reason=0, **overrides):
        s = Settings()
        for k in overrides:
            s.set(k, overrides[k])
        self.s = s
        self.log = EventLog(128)
        self.p = Protection(s, self.log, latched=latched, latch_reason=latch_reason)
        self.i = self.p.inputs
        self.o = self.p.outputs
        self.c = self.i.btv
        self.i.remote_on = True
        self.t = START
        self.ok()  # the first step at START: boot

    # --- the battery's condition (each setter steps once at the current tick) -----------------
    def ok(self):
        self._set(True, True, False, 0)

    def _set(self, dis, chg, pa, reasons, loop=True):
        c = self.c
        c.loop_ok = loop
        c.discharge_ok = dis
        c.charge_ok = chg
        c.prealarm = pa
        c.reasons = reasons
        self.step()

    def prealarm(self):
        self._set(True, True, True, R_PREALARM)

    def low_cell(self, pa=False):
        self._set(False, True, pa, R_LOW_CELL | (R_PREALARM if pa else 0))

    def high_cell(self):
        self._set(True, False, False, R_HIGH_CELL)

    def low_temp(self):
        self._set(True, False, False, R_LOW_TEMP)

    def charge_block(self):
        """The charge line says no and the wiring cannot tell high cell from temperature."""
        self._set(True, False, False, R_CHARGE_BLOCK)

    def high_temp(self):
        self._set(True, False, False, R_HIGH_TEMP)

    def open_loop(self):
        self._set(False, False, False, R_OPEN_LOOP, loop=False)

    def stuck(self):
        self._set(False, False, False, R_STUCK, loop=False)

    # --- time --------------------------------------------------------------------------------
    def step(self):
        return self.p.step(self.t, self.i)

    def run(self, ms, dt=10):
        """Step every dt ms for ms milliseconds (the last step at now + ms)."""
        end = time.ticks_add(self.t, ms)
        while time.ticks_diff(end, self.t) > 0:
            self.t = time.ticks_add(self.t, min(dt, time.ticks_diff(end, self.t)))
            self.p.step(self.t, self.i)
        return self.o

    def until(self, pred, max_ms, dt=10):
        """Step until pred(outputs) holds; return the ms it took (-1 if it never did)."""
        t0 = self.t
        self.step()
        while not pred(self.o):
            if time.ticks_diff(self.t, t0) >= max_ms:
                return -1
            self.t = time.ticks_add(self.t, dt)
            self.p.step(self.t, self.i)
        return time.ticks_diff(self.t, t0)

    def started(self):
        """Run through start-up with the loop OK."""
        self.ok()
        self.run(self.s.startup_ok_ms + 10)
        return self.o

    def texts(self):
        return [text(c, r, a) for _, c, r, a in self.log.entries()]

    def has(self, fragment):
        for line in self.texts():
            if fragment in line:
                return True
        return False


def walk(p, i, c, t, n, step=True):
    """n protection steps of 10 ms through every rule: pre-alarm, low cell and its disconnect,
    recovery, high cell, open loop and its latch, remote off and on, mains, GX/DMC, errors.
    step=False sets the same inputs without stepping (the bench subtracts that loop's time)."""
    for k in range(n):
        ph = (k // 4000) % 8
        c.loop_ok = ph != 4
        c.discharge_ok = ph != 2 and ph != 4
        c.charge_ok = ph != 3 and ph != 4
        c.prealarm = ph == 1
        c.reasons = (
            (R_PREALARM if ph == 1 else 0)
            | (R_LOW_CELL if ph == 2 else 0)
            | (R_HIGH_CELL if ph == 3 else 0)
            | (R_OPEN_LOOP if ph == 4 else 0)
        )
        i.remote_on = ph != 6
        i.mains = ph == 2 and k % 4000 > 3500
        i.gx_request = 5 if ph == 7 else 0
        i.dmc_present = ph == 7 and k % 4000 > 2000
        i.multi_present = True
        i.multi_version = 414 if ph == 5 and k % 4000 > 2000 else 502
        t = time.ticks_add(t, 10)
        if step:
            p.step(t, i)
    return t
