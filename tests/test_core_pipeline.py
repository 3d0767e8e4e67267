"""firmware/core end to end, wired as the app wires it: raw BTV / remote / mains levels every
10 ms -> BtvDecoder, Remote, Mains -> Protection. Runs on both VMs."""

import time

from firmware.core.btv import BtvDecoder
from firmware.core.codes import CH_LATCH, FLOAT, HIGH, MODE_CHARGER_ONLY, MODE_OFF, MODE_ON
from firmware.core.events import EventLog, text
from firmware.core.latch import LatchStore
from firmware.core.mains import Mains
from firmware.core.protection import Protection
from firmware.core.remote import Remote
from firmware.core.settings import Settings

OK = 0b111
T0 = time.ticks_add(0, -5000)  # pyright: ignore[reportArgumentType]  (crosses the wrap)


class Board:
    """Raw levels the pins would read; `sampling` False = the input task stopped,
    `btv_sampling` False = only the BTV inputs stopped being read."""

    def __init__(self, latch=None, **kw):
        s = Settings()
        for k in kw:
            s.set(k, kw[k])
        self.btv_levels = OK
        self.stuck_mask = 0
        self.remote_l = 0  # L pulled to battery minus: on
        self.remote_h = 0
        self.mains = 1  # the pulled-up mains detector input: no AC
        self.sampling = True
        self.btv_sampling = True
        self.dec = BtvDecoder(s)
        self.rem = Remote(s)
        self.mns = Mains(s)
        self.log = EventLog(64)
        self.latch = latch
        latched, reason = (latch.load()[:2]) if latch is not None else (False, 0)
        self.p = Protection(s, self.log, latched, reason)
        self.t = T0

    def tick(self):
        t = self.t
        if self.sampling:
            if self.btv_sampling:
                pulse = self.dec.drive(t)
                lv = (self.btv_levels & self.stuck_mask) if pulse else self.btv_levels
                self.dec.sample(t, lv)
            self.rem.sample(t, self.remote_l, self.remote_h)
            self.mns.sample(t, self.mains)
        inp = self.p.inputs
        c = self.dec.condition(t)
        b = inp.btv
        b.loop_ok, b.discharge_ok, b.charge_ok = c.loop_ok, c.discharge_ok, c.charge_ok
        b.prealarm, b.reasons = c.prealarm, c.reasons
        inp.remote_on = self.rem.on(t)
        inp.mains = self.mns.present(t)
        out = self.p.step(t, inp)
        if out.changed & CH_LATCH and self.latch is not None:
            self.latch.save(out.latched, out.latch_reason)  # the app's log task does this
        self.t = time.ticks_add(t, 10)
        return out

    def run(self, ms):
        out = self.p.outputs
        for _ in range(ms // 10):
            out = self.tick()
        return out

    def until(self, pred, max_ms):
        for k in range(max_ms // 10 + 1):
            if pred(self.tick()):
                return k * 10
        return -1

    def has(self, words):
        for _, c, r, a in self.log.entries():
            if words in text(c, r, a):
                return True
        return False


def test_boot_to_running_takes_debounce_plus_startup():
    b = Board()
    took = b.until(lambda o: o.load == HIGH, 5000)
    assert 2040 <= took <= 2070, took  # 50 ms debounce, then 2000 ms of loop OK
    o = b.p.outputs
    assert o.charge == HIGH and o.multi_mode == MODE_ON


def test_no_remote_bridge_means_off():
    b = Board()
    b.remote_l = 1  # nothing on the remote terminal
    o = b.run(10000)
    assert o.load == FLOAT and o.charge == FLOAT and o.multi_mode == MODE_OFF and o.low_power


def test_pulled_btv_cable_chargers_off_at_once_loads_after_30_s_latched():
    b = Board()
    b.run(3000)
    b.btv_levels = 0  # cable unplugged: every line drops
    took = b.until(lambda o: o.charge == FLOAT, 1000)
    assert 40 <= took <= 60, took  # debounce only
    took_load = b.until(lambda o: o.load == FLOAT, 40000)
    assert 29900 <= took_load <= 30010, took_load
    assert b.has("BTV loop fault latched: open loop")
    b.btv_levels = OK  # plugged back: latched until OK for 2 s, loads after min_hold
    o = b.run(1500)
    assert o.latched and o.charge == FLOAT
    o = b.run(1000)
    assert not o.latched and o.charge == HIGH


def test_btv_inputs_going_stale_is_a_latched_loop_fault():
    b = Board()
    b.run(3000)
    b.btv_sampling = False
    took = b.until(lambda o: o.charge == FLOAT, 2000)
    assert 490 <= took <= 520, took  # stale_ms 500
    o = b.p.outputs
    assert o.latched and o.load == HIGH and o.prealarm == HIGH  # loads after the delay
    assert b.has("BTV loop fault latched: stale input")


def test_input_task_stopping_floats_everything():
    b = Board()
    b.run(3000)
    b.sampling = False  # the remote terminal goes stale too: it reads off
    took = b.until(lambda o: o.load == FLOAT and o.charge == FLOAT, 2000)
    assert 490 <= took <= 520, took
    assert b.p.outputs.multi_mode == MODE_OFF and b.p.outputs.latched


def test_low_cell_line_then_mains_back_restarts_charger_only():
    b = Board()
    b.run(3000)
    b.btv_levels = 0b110  # discharge line: low cell
    o = b.run(31000)
    assert o.load == FLOAT and o.multi_mode == MODE_OFF and b.has("pre-alarm: low cell")
    b.mains = 0  # the optocoupler pulls the input low: AC back
    took = b.until(lambda o: o.multi_mode == MODE_CHARGER_ONLY, 1000)
    assert 40 <= took <= 60, took
    assert b.has("mains detector: AC back, Multi restarted in charger-only")


def test_selftest_with_a_stuck_line_becomes_a_loop_fault():
    b = Board(btv_selftest=True)
    o = b.run(5000)
    assert o.load == HIGH and b.dec.tests_passed >= 3
    b.stuck_mask = 0b010  # the charge line keeps reading OK during the pulse
    took = b.until(lambda o: o.charge == FLOAT, 5000)
    assert 0 < took <= 2200, took  # two failed pulses, a second apart
    assert b.p.outputs.latched and b.has("BTV loop fault latched: stuck input")


def test_latched_loop_fault_survives_a_reboot():
    import os

    path = ("/tmp" if "tmp" in os.listdir("/") else ".") + "/core_pipeline_latch.bin"
    for q in (path, path + ".tmp"):
        try:
            os.remove(q)
        except OSError:
            pass
    b = Board(latch=LatchStore(path))
    b.run(3000)
    b.btv_levels = 0  # cable pulled
    b.run(1000)
    # R_OPEN_LOOP | R_LOOP_UNSURE on flash (default wiring: could be a cold, empty battery)
    assert LatchStore(path).load()[:2] == (True, 0x8020)
    # power cycle with the cable plugged back: RAM is gone, the latch file is not
    b = Board(latch=LatchStore(path))
    o = b.tick()
    assert o.latched and o.load == FLOAT and o.charge == FLOAT
    assert b.has(
        "start-up: outputs safe, BTV loop fault latched before reboot (open loop, or low cell "
        "with charging blocked (this wiring cannot tell))"
    )
    took = b.until(lambda o: not o.latched, 5000)
    assert 2040 <= took <= 2070, took  # debounce + startup_ok_ms of loop OK
    assert b.p.outputs.load == HIGH and b.has("BTV loop fault cleared")
    assert LatchStore(path).load()[:2] == (False, 0)
    os.remove(path)
