"""firmware/core remote.py, mains.py, leds.py: remote on/off wirings, mains detector, LEDs."""

import time

from firmware.core.codes import PAT_FAULTY_APP, PAT_HEARTBEAT, PAT_LISTEN, PAT_OFF, PAT_ON
from firmware.core.leds import Leds
from firmware.core.mains import Mains
from firmware.core.remote import Remote
from firmware.core.settings import Settings

T0 = time.ticks_add(0, -3000)  # pyright: ignore[reportArgumentType]  (crosses the wrap)


def _remote(mode, l_lv, h_lv, bridged=-1, ms=100):
    s = Settings()
    s.set("remote_mode", mode)
    r = Remote(s)
    t = T0
    for _ in range(ms // 5):
        t = time.ticks_add(t, 5)
        r.sample(t, l_lv, h_lv, bridged)
    return r.on(t)


def test_remote_any_wiring_is_on_for_each_of_the_three():
    # idle terminal: L reads 1 (not pulled low), H reads 0 (not pulled high), no bridge seen
    assert not _remote("any", 1, 0)
    assert _remote("any", 0, 0)  # L pulled to battery minus
    assert _remote("any", 1, 1)  # H pulled high
    assert _remote("any", 1, 0, bridged=1)  # L and H joined
    assert not _remote("any", 1, 0, bridged=0)


def test_remote_single_wiring_modes_accept_only_their_wiring():
    assert _remote("bridge", 1, 0, bridged=1) and not _remote("bridge", 0, 1, bridged=0)
    assert _remote("l_low", 0, 0) and not _remote("l_low", 1, 1, bridged=1)
    assert _remote("h_high", 1, 1) and not _remote("h_high", 0, 0, bridged=1)


def test_remote_is_debounced_and_off_when_stale():
    s = Settings()
    r = Remote(s)
    assert not r.on(T0)  # never sampled: off
    t = T0
    for _ in range(8):  # 40 ms: not yet debounced
        t = time.ticks_add(t, 5)
        r.sample(t, 0, 0)
    assert not r.on(t)
    for _ in range(4):
        t = time.ticks_add(t, 5)
        r.sample(t, 0, 0)
    assert r.on(t)
    assert not r.on(time.ticks_add(t, 501))  # no sample for stale_ms: off


def test_remote_polarity_settings():
    s = Settings()
    s.set("remote_l_on_level", 1)
    s.set("remote_h_on_level", 0)
    r = Remote(s)
    t = T0
    for _ in range(20):
        t = time.ticks_add(t, 5)
        r.sample(t, 1, 1)
    assert r.on(t)  # L reads 1 = pulled low with this input stage


def test_mains_detector_debounced_polarity_disabled_and_stale():
    # Defaults = docs/hardware.md "Mains detector": a pulled-up input that the optocoupler pulls
    # low while AC is present; the pull-up alone (no AC, or no detector fitted) reads no AC.
    s = Settings()
    m = Mains(s)
    t = T0
    for _ in range(20):
        t = time.ticks_add(t, 5)
        m.sample(t, 0)
    assert m.present(t)
    assert not m.present(time.ticks_add(t, 501))
    m = Mains(s)
    for _ in range(20):
        t = time.ticks_add(t, 5)
        m.sample(t, 1)
    assert not m.present(t)
    s.set("mains_on_level", 1)
    m = Mains(s)
    for _ in range(20):
        t = time.ticks_add(t, 5)
        m.sample(t, 1)
    assert m.present(t)
    s.set("mains_detector", False)
    m = Mains(s)
    for _ in range(20):
        t = time.ticks_add(t, 5)
        m.sample(t, 1)
    assert not m.present(t)


def test_led_patterns_timing():
    leds = Leds()
    t = T0
    on_ms = 0
    faulty_edges = 0
    last = 0
    listen_edges = 0
    last_listen = 0
    for _ in range(30000):  # 30 s in 1 ms steps, across the wrap
        assert leds.level(PAT_OFF, t) == 0 and leds.level(PAT_ON, t) == 1
        on_ms += leds.level(PAT_HEARTBEAT, t)
        lv = leds.level(PAT_LISTEN, t)
        if lv and not last_listen:
            listen_edges += 1
        last_listen = lv
        f = leds.level(PAT_FAULTY_APP, t)
        if f and not last:
            faulty_edges += 1
        last = f
        t = time.ticks_add(t, 1)
    assert on_ms == 3 * 60  # three short flashes in 30 s: one about every 10 s
    assert listen_edges == 6  # listen mode: two flashes every 10 s
    assert 14 * 30 <= faulty_edges <= 16 * 30  # about 15 flashes a second
