"""Edges of firmware/core's rules that a mutant could move unseen: every setting's range as the
user reads it in docs/settings.md, a silent DMC, the remote bridge, the BTV self-test's settle
time and polarity, the red LED during a loop fault. Runs on both VMs."""

import time

from core_rig import Rig
from vmtest import fresh_root, raises

from firmware.core.btv import BtvDecoder, Condition
from firmware.core.btv_wire import Wire
from firmware.core.codes import (
    MODE_NONE,
    MODE_OFF,
    MODE_ON,
    PAT_OFF,
    PAT_ON,
    R_HIGH_TEMP,
    R_LOW_CELL,
    R_LOW_TEMP,
    R_OPEN_LOOP,
    R_PREALARM,
    R_STUCK,
)
from firmware.core.mains import Mains
from firmware.core.remote import Remote
from firmware.core.settings import SPEC, Settings, SettingsError, load

_HERE = __file__.rpartition("/")[0] or "."
DOC = (_HERE.rpartition("/")[0] or ".") + "/docs/settings.md"
T0 = time.ticks_add(0, -1000)  # pyright: ignore[reportArgumentType]  (crosses the wrap)
INPUTS = [r[0] for r in SPEC if r[0][:4] == "btv_" and r[0][-6:] == "_input"]


def _doc_rows():
    """(key, type, range text) of each row of the table in docs/settings.md."""
    rows = []
    with open(DOC) as f:
        for line in f:
            if line.startswith("| `"):
                cells = [c.strip() for c in line.split("|")]
                rows.append((cells[1].strip("`"), cells[2], cells[4]))
    return rows


def _free_input(s, key, n):
    """Move any other BTV signal off input n, so that key may take it (one signal per input):
    to a free input within its range, else unwired (-1) where it may be."""
    for other in INPUTS:
        if other != key and s.get(other) == n:
            lo, hi = [(r[3], r[4]) for r in SPEC if r[0] == other][0]
            used = [s.get(x) for x in INPUTS]
            free = [k for k in range(max(lo, 0), hi + 1) if k != n and k not in used]
            s.set(other, free[0] if free else lo)


def test_every_int_setting_takes_its_documented_min_and_max_and_refuses_one_beyond():
    # docs/settings.md, the range column: what a user may write in settings.json
    ints = [r for r in _doc_rows() if r[1] == "int"]
    assert len(ints) >= 20
    for key, _, rng in ints:
        lo, hi = [int(x) for x in rng.split("..")]
        for v in (lo, lo + 1, hi - 1, hi):
            s = Settings()
            _free_input(s, key, v)
            s.set(key, v)
            assert s.get(key) == v, (key, v)
        for v in (lo - 1, hi + 1, hi * 10 + 1, 10**7):
            s = Settings()
            old = s.get(key)
            e = raises(SettingsError, s.set, key, v)
            assert str(e).startswith(key + ":") and s.get(key) == old, (key, v)


def test_a_settings_file_beyond_a_maximum_keeps_the_default():
    # docs/settings.md: a refused value is reported with its reason and the old value is kept
    path = fresh_root("limits") + "settings.json"
    with open(path, "w") as f:
        f.write('{"prealarm_to_disconnect_s": 10000000, "min_hold_s": 3601}')
    s, errors = load(path)
    assert s.prealarm_to_disconnect_s == 30 and s.min_hold_s == 10
    assert len(errors) == 2 and "out of range" in errors[0]


def test_every_choice_and_switch_setting_takes_its_documented_values_only():
    for key, kind, rng in _doc_rows():
        s = Settings()
        if kind == "choice":
            for v in rng.split(", "):
                s.set(key, v)
                assert s.get(key) == v
            raises(SettingsError, s.set, key, rng.split(", ")[0].upper() + "x")
        elif kind == "bool":
            s.set(key, True)
            s.set(key, False)
            raises(SettingsError, s.set, key, 1)


def test_gx_is_ignored_when_a_dmc_is_present_even_while_the_dmc_asks_nothing():
    # docs/hardware.md, system with a DMC: the GX's on/off control is disabled with a DMC present
    r = Rig()
    r.started()
    r.i.gx_request = MODE_OFF
    r.step()
    assert r.o.multi_mode == MODE_OFF  # no DMC: the GX switches the Multi off
    r.i.dmc_present = True
    r.i.dmc_request = MODE_NONE  # a DMC that is fitted but silent
    r.step()
    assert r.o.multi_mode == MODE_ON and not r.o.low_power


def _remote(mode, l_lv, h_lv, bridged):
    s = Settings()
    s.set("remote_mode", mode)
    r = Remote(s)
    t = T0
    for _ in range(30):
        t = time.ticks_add(t, 5)
        r.sample(t, l_lv, h_lv, bridged)
    return r.on(t)


def test_remote_bridge_alone_is_on_and_its_removal_is_off():
    # manual, remote on/off: ON when L and H are joined; with no bridge fitted the BMS stays off.
    # L idle reads 1 (not pulled low), H idle reads 0 (not pulled high): only the bridge says on.
    for mode in ("any", "bridge"):
        assert _remote(mode, 1, 0, 1), mode
        assert not _remote(mode, 1, 0, 0), mode  # bridge removed: off


def _selftest_run(dec, t, ms, follow_after_ms, ok_levels, stuck=0):
    """A board whose inputs go "not OK" follow_after_ms into each pulse (a slow optocoupler);
    stuck: inputs that keep reading "OK" through the pulse."""
    pulse_at = None
    end = time.ticks_add(t, ms)
    while time.ticks_diff(end, t) > 0:
        t = time.ticks_add(t, 1)
        if dec.drive(t):
            pulse_at = t if pulse_at is None else pulse_at
        else:
            pulse_at = None
        broken = pulse_at is not None and time.ticks_diff(t, pulse_at) >= follow_after_ms
        levels = ok_levels
        if broken:
            levels = (ok_levels ^ 0b011) & ~stuck | (ok_levels & stuck)
        dec.sample(t, levels)
        dec.condition(t)
    return t


def _selftest_settings(settle, ok_low=0):
    s = Settings()
    s.set("btv_selftest", True)
    s.set("btv_selftest_settle_ms", settle)
    s.set("btv_ok_low_mask", ok_low)
    return s


def test_selftest_waits_its_settle_time_before_judging_the_inputs():
    # btv_selftest_settle_ms (docs/settings.md): the inputs are read this long into the pulse.
    # Inputs that need 20 ms to follow pass with a 20 ms settle time ...
    dec = BtvDecoder(_selftest_settings(20))
    t = _selftest_run(dec, T0, 6000, 20, 0b111)
    assert dec.tests_passed >= 4 and dec.tests_failed == 0
    assert dec.condition(t).loop_ok
    # ... and fail with a 19 ms one: the pulse is judged at its settle time, not later.
    dec = BtvDecoder(_selftest_settings(19))
    t = _selftest_run(dec, T0, 6000, 20, 0b111)
    assert dec.tests_passed == 0 and dec.tests_failed >= 2
    assert dec.condition(t).reasons == R_STUCK


def test_selftest_with_active_low_inputs_passes_and_still_catches_a_stuck_one():
    # btv_ok_low_mask: inputs that read 0 when the battery says OK; the pulse makes them read 1.
    dec = BtvDecoder(_selftest_settings(2, ok_low=0b111))
    t = _selftest_run(dec, T0, 5000, 0, 0b000)
    assert dec.tests_passed >= 3 and dec.tests_failed == 0
    c = dec.condition(t)
    assert c.loop_ok and c.reasons == 0
    t = _selftest_run(dec, t, 3000, 0, 0b000, stuck=0b001)  # discharge line stuck at OK (0)
    assert dec.condition(t).reasons == R_STUCK and dec.tests_failed >= 2


def test_red_led_is_dark_during_a_loop_fault_even_after_a_high_cell():
    # manual 5.2, cell > 4 V (red): on = high cell voltage or temperature, chargers switched off.
    # An open loop tells nothing about the cells: the red LED is not the loop-fault indicator.
    r = Rig()
    r.started()
    r.high_cell()
    assert r.o.led_high == PAT_ON
    r.open_loop()
    r.run(1000)
    assert r.o.led_high == PAT_OFF and r.o.latched
    r.high_cell()  # the loop reads again (high cell) but the fault is still latched
    assert r.o.latched and r.o.led_high == PAT_OFF
    r.run(r.s.startup_ok_ms + 20)  # latch cleared: the high cell shows again
    assert not r.o.latched and r.o.led_high == PAT_ON


def _fed(obj, t, ms, *levels):
    for _ in range(ms // 5):
        t = time.ticks_add(t, 5)
        obj.sample(t, *levels)
    return t


def test_remote_and_mains_readings_go_stale_after_stale_ms_and_need_a_fresh_debounce():
    # docs/settings.md stale_ms: "no fresh sample of an input this long = not allowed"
    s = Settings()
    r = Remote(s)
    m = Mains(s)
    t = T0
    assert not r.known() and not r.on(t) and not m.present(t)
    t = _fed(r, t, 40, 0, 0)  # within debounce_ms (50): no reading yet
    assert not r.on(t) and not r.known()
    t = _fed(r, t, 20, 0, 0)
    _fed(m, T0, 60, s.mains_on_level)  # the detector's "AC present" level
    assert r.on(t) and r.known() and m.present(t)
    late = time.ticks_add(t, s.stale_ms)
    assert r.on(late) and r.known() and m.present(late)  # stale only past stale_ms
    late = time.ticks_add(late, 1)
    assert not r.on(late) and not r.known() and not m.present(late)
    t = time.ticks_add(late, 5)
    r.sample(t, 0, 0)  # samples come back: a level is trusted only once debounced again
    m.sample(t, 1)
    assert not r.on(t) and not r.known() and not m.present(t)


def test_only_two_failed_selftest_pulses_in_a_row_make_a_stuck_input():
    # firmware/core/btv.py's self-test rule: two failed pulses in a row are a stuck input
    dec = BtvDecoder(_selftest_settings(2))
    t = _selftest_run(dec, T0, 2500, 0, 0b111)
    assert dec.tests_passed >= 1 and dec.condition(t).loop_ok
    for _ in range(3):  # fail, pass, fail, pass...: never two in a row
        t = _selftest_run(dec, t, 1000, 0, 0b111, stuck=0b001)
        assert dec.test_failures == 1 and dec.condition(t).loop_ok
        t = _selftest_run(dec, t, 1000, 0, 0b111)
        assert dec.test_failures == 0 and dec.condition(t).loop_ok
    t = _selftest_run(dec, t, 2000, 0, 0b111, stuck=0b001)
    assert dec.test_failures == 2 and dec.condition(t).reasons == R_STUCK


def _wired(**inputs):
    s = Settings()
    for k in INPUTS:
        if s.get(k) >= 0 and k not in ("btv_discharge_input", "btv_charge_input"):
            s.set(k, -1)
    # out of the way of input 0 (the one under test): the board's last two inputs
    s.set("btv_discharge_input", 4)
    s.set("btv_charge_input", 5)
    for k in inputs:
        s.set(k, inputs[k])
    return Wire(s)


def test_each_btv_signal_works_on_any_input_number_including_0():
    # docs/settings.md: each btv_*_input is an input number 0..5 (-1 = none where allowed)
    c = Condition()
    ok = 0b00110001  # inputs 4, 5 and 0 read "OK" (1)
    cases = (
        ("btv_prealarm_input", R_PREALARM),
        ("btv_low_temp_input", R_LOW_TEMP),
        ("btv_high_temp_input", R_HIGH_TEMP),
        ("btv_loop_input", R_OPEN_LOOP),
    )
    for key, reason in cases:
        w = _wired(**{key: 0})
        w.decode(ok, c)
        assert c.loop_ok and c.reasons == 0, key
        w.decode(ok & ~1, c)  # input 0 says "not OK"
        assert c.reasons == reason, key
    w = _wired(btv_discharge_input=3, btv_charge_input=5)
    w.decode(0b00101000, c)
    assert c.loop_ok and c.discharge_ok and c.charge_ok
    w.decode(0b00100000, c)
    assert c.reasons == R_LOW_CELL and not c.discharge_ok and c.charge_ok


def test_an_open_loop_clears_a_pre_alarm_it_read_before():
    c = Condition()
    w = _wired(btv_prealarm_input=0)
    w.decode(0b00110000, c)  # pre-alarm line "not OK"
    assert c.prealarm
    w.decode(0, c)  # every line drops: open loop (or a cold empty battery: this wiring can't tell)
    assert c.reasons & R_OPEN_LOOP and not c.prealarm and not c.loop_ok


def test_selftest_timing_settings_must_fit_in_half_a_period():
    # docs/settings.md: the self-test pulse and recovery must take less than half its period
    s = Settings()
    s.set("btv_selftest_period_ms", 200)
    s.set("btv_selftest_settle_ms", 40)
    s.set("btv_selftest_recover_ms", 59)  # 2 * (40 + 59) = 198 < 200
    raises(SettingsError, s.set, "btv_selftest_recover_ms", 60)  # 200: not less than half
    assert s.btv_selftest_recover_ms == 59
    raises(SettingsError, s.set, "btv_selftest_period_ms", 198)
    s.set("btv_selftest_period_ms", 199)


def test_a_stale_loop_allows_nothing_and_clears_a_pre_alarm():
    # design, fail safe: stale = not allowed; the condition says so on every field
    s = Settings()
    dec = BtvDecoder(s)
    t = _fed(dec, T0, 100, 0b011)  # pre-alarm line (input 2) "not OK", the rest OK
    c = dec.condition(t)
    assert c.loop_ok and c.charge_ok and c.discharge_ok and c.prealarm
    c = dec.condition(time.ticks_add(t, s.stale_ms + 1))
    assert not (c.loop_ok or c.charge_ok or c.discharge_ok or c.prealarm)
