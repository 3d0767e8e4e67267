"""firmware/core allocates nothing per tick: protection steps, BTV decoding, remote, mains, LEDs
run under micropython.heap_lock() on the VM (any allocation raises MemoryError there)."""

import time

from core_rig import Rig, walk
from vmtest import alloc_bytes, locked, requires_vm

from firmware.core.btv import BtvDecoder
from firmware.core.codes import PAT_FAULTY_APP, PAT_HEARTBEAT
from firmware.core.leds import Leds
from firmware.core.mains import Mains
from firmware.core.remote import Remote
from firmware.core.settings import Settings


def decode(dec, rem, mains, leds, t, n):
    lv = 0
    for k in range(n):
        t = time.ticks_add(t, 5)
        dec.drive(t)
        lv = 0b011 if (k // 300) % 3 else 0b001
        dec.sample(t, lv)
        dec.condition(t)
        rem.sample(t, 0, k & 1, -1)
        rem.on(t)
        mains.sample(t, (k // 100) & 1)
        mains.present(t)
        lv = leds.level(PAT_HEARTBEAT, t) + leds.level(PAT_FAULTY_APP, t)
    return t


def test_scenario_exercises_every_rule():
    r = Rig()
    r.started()
    walk(r.p, r.i, r.c, r.t, 32000)
    texts = " | ".join(r.texts())
    for words in (
        "pre-alarm: battery pre-alarm",
        "load disconnect: low cell, 40 s after pre-alarm",  # pre-alarm high since phase 1
        "charge disconnect: high cell",
        "BTV loop fault latched: open loop",
        "remote on/off: off",
        "VE.Bus error 15",
    ):
        assert words in texts, words


def test_protection_step_allocates_nothing_under_heap_lock():
    requires_vm()
    r = Rig()
    r.started()
    p, i, c, t = r.p, r.i, r.c, r.t
    walk(p, i, c, t, 100)  # warm up: every attribute exists before locking
    locked(lambda: walk(p, i, c, t, 32000))
    assert r.log.seq > 20  # the rules fired (and recorded events) while the heap was locked


def test_decoders_allocate_nothing_under_heap_lock():
    requires_vm()
    s = Settings()
    s.set("btv_selftest", True)
    dec = BtvDecoder(s)
    rem = Remote(s)
    mains = Mains(s)
    leds = Leds()
    t = decode(dec, rem, mains, leds, 0, 100)
    locked(lambda: decode(dec, rem, mains, leds, t, 5000))
    assert dec.tests_passed + dec.tests_failed > 0


def test_alloc_bytes_of_protection_steps_is_zero():
    requires_vm()
    r = Rig()
    r.started()
    walk(r.p, r.i, r.c, r.t, 100)
    assert alloc_bytes(walk, r.p, r.i, r.c, r.t, 8000) == 0
