"""firmware/core/btv.py + btv_wire.py: debounce, stale inputs, the electrical mapping, the pulsed
self-test. Runs on both VMs."""

import time

from firmware.core.btv import BtvDecoder, Condition
from firmware.core.btv_wire import Wire
from firmware.core.codes import (
    R_CHARGE_BLOCK,
    R_HIGH_CELL,
    R_HIGH_TEMP,
    R_LOOP_UNSURE,
    R_LOW_CELL,
    R_LOW_TEMP,
    R_OPEN_LOOP,
    R_PREALARM,
    R_STALE,
    R_STUCK,
    R_UNKNOWN,
)
from firmware.core.debounce import Debounce
from firmware.core.settings import Settings

T0 = time.ticks_add(0, -1000)  # pyright: ignore[reportArgumentType]  (crosses the wrap)
OK = 0b111  # default mapping: discharge 0, charge 1, pre-alarm 2, all read 1 when OK


def _settings(**kw):
    s = Settings()
    for k in kw:
        s.set(k, kw[k])
    return s


class Feed:
    """Sample every `dt` ms with the given levels; return the condition at the end."""

    def __init__(self, dec, t=T0):
        self.dec = dec
        self.t = t

    def run(self, levels, ms, dt=5):
        end = time.ticks_add(self.t, ms)
        while time.ticks_diff(end, self.t) > 0:
            self.t = time.ticks_add(self.t, dt)
            self.dec.drive(self.t)
            self.dec.sample(self.t, levels)
        return self.dec.condition(self.t)


def test_debounce_needs_a_stable_level_for_the_set_time():
    d = Debounce(50)
    assert d.level == -1
    assert not d.feed(T0, 1)
    assert not d.feed(time.ticks_add(T0, 49), 1) and d.level == -1
    assert d.feed(time.ticks_add(T0, 50), 1) and d.level == 1
    assert not d.feed(time.ticks_add(T0, 60), 0)  # a glitch shorter than 50 ms ...
    assert not d.feed(time.ticks_add(T0, 100), 1)  # ... is ignored
    assert d.level == 1
    d.reset()
    assert d.level == -1


def test_unknown_until_debounced_then_ok():
    dec = BtvDecoder(Settings())
    f = Feed(dec)
    c = dec.condition(T0)
    assert not c.loop_ok and not c.discharge_ok and c.reasons == R_UNKNOWN
    c = f.run(OK, 45)
    assert c.reasons == R_UNKNOWN and not c.charge_ok
    c = f.run(OK, 10)
    assert c.loop_ok and c.discharge_ok and c.charge_ok and not c.prealarm and c.reasons == 0


def test_an_edge_stamp_starts_the_debounce_at_the_edge_and_a_glitch_still_resets_it():
    dec = BtvDecoder(Settings())  # debounce_ms 50
    f = Feed(dec)
    f.run(OK, 100, dt=10)
    t_edge = time.ticks_add(f.t, 3)  # between two 10 ms polls
    dec.edge(t_edge, 0b110)  # the discharge line drops (low cell), read at its edge
    assert dec.settle_at == time.ticks_add(t_edge, 50)
    f.run(0b110, 40, dt=10)  # polls at edge + 7 .. + 47
    assert dec.condition(f.t).discharge_ok
    t = dec.settle_at
    assert dec.sample(t, 0b110)  # 50 ms after the edge, not after the first poll that saw it
    c = dec.condition(t)
    assert not c.discharge_ok and c.reasons == R_LOW_CELL
    f.run(0b110, 30, dt=10)
    t_edge = time.ticks_add(f.t, 2)
    dec.edge(t_edge, OK)  # back OK at an edge ...
    f.run(0b110, 10, dt=10)  # ... but the next poll reads low again: a glitch
    assert not dec.sample(time.ticks_add(t_edge, 51), 0b110)
    assert not dec.condition(f.t).discharge_ok


def test_a_short_glitch_does_not_reach_the_condition():
    dec = BtvDecoder(Settings())
    f = Feed(dec)
    f.run(OK, 100)
    c = f.run(0b110, 40)  # discharge line drops for 40 ms < debounce
    assert c.discharge_ok
    c = f.run(OK, 100)
    c = f.run(0b110, 50)  # first new sample at +5 ms: stable for 45 ms only
    assert c.discharge_ok
    c = f.run(0b110, 5)
    assert not c.discharge_ok and c.reasons == R_LOW_CELL and c.loop_ok


def test_each_alarm_decodes_to_its_reason():
    dec = BtvDecoder(Settings())
    f = Feed(dec)
    f.run(OK, 100)
    cases = (
        (0b011, True, True, True, R_PREALARM),
        (0b010, False, True, True, R_LOW_CELL | R_PREALARM),
        # the charge line alone cannot tell a high cell from a low temperature (manual 3.3)
        (0b101, True, False, False, R_CHARGE_BLOCK),
    )
    for levels, dis, chg, pa, reasons in cases:
        c = f.run(levels, 100)
        assert (c.discharge_ok, c.charge_ok, c.prealarm, c.reasons) == (
            dis,
            chg,
            pa,
            reasons,
        ), levels
        assert c.loop_ok


def test_every_line_down_is_an_open_loop_the_default_wiring_cannot_be_sure():
    dec = BtvDecoder(Settings())
    f = Feed(dec)
    f.run(OK, 100)
    c = f.run(0b000, 100)  # cable unplugged: every line drops; so does a cold, empty battery
    assert not c.loop_ok and not c.discharge_ok and not c.charge_ok
    assert c.reasons == R_OPEN_LOOP | R_LOOP_UNSURE


def test_a_line_still_ok_proves_the_cable_low_cell_with_charge_block_is_not_a_loop_fault():
    # A cold, empty battery that cannot signal pre-alarm: low cell and the charge line down, the
    # pre-alarm line still OK, so the cable is there (an unplugged cable drops every line).
    c = Condition()
    Wire(Settings()).decode(0b100, c)
    assert c.loop_ok and not c.discharge_ok and not c.charge_ok
    assert c.reasons == R_LOW_CELL | R_CHARGE_BLOCK
    # both temperature lines wired: a battery is never cold and hot at once
    w = Wire(_settings(btv_low_temp_input=3, btv_high_temp_input=4))
    w.decode(0b10000, c)  # cold and empty: the high-temperature line still OK
    assert c.loop_ok and c.reasons == R_LOW_CELL | R_LOW_TEMP | R_PREALARM
    w.decode(0, c)  # every line down: surely the cable
    assert not c.loop_ok and c.reasons == R_OPEN_LOOP


def test_dedicated_loop_input_and_temperature_inputs():
    s = _settings(btv_loop_input=3, btv_low_temp_input=4, btv_high_temp_input=5)
    dec = BtvDecoder(s)
    f = Feed(dec)
    all_ok = 0b111111
    assert f.run(all_ok, 100).reasons == 0
    c = f.run(all_ok & ~(1 << 3), 100)
    assert not c.loop_ok and c.reasons == R_OPEN_LOOP
    c = f.run(all_ok & ~(1 << 4), 100)
    assert c.loop_ok and not c.charge_ok and c.discharge_ok and c.reasons == R_LOW_TEMP
    c = f.run(all_ok & ~(1 << 5), 100)
    assert not c.charge_ok and c.reasons == R_HIGH_TEMP
    c = f.run(all_ok & ~0b11, 100)  # with a loop input, both lines down is low + high cell
    assert c.loop_ok and c.reasons == R_LOW_CELL | R_HIGH_CELL  # both temperatures read OK


def test_a_high_cell_is_told_apart_only_where_the_wiring_allows():
    # Manual 3.3 stops charging for high cell and low temperature alike; the reduced current of
    # 7, Q4 needs a high cell the BMS can tell apart: its own line, or both temperature lines OK.
    c = Condition()
    w = Wire(_settings(btv_high_cell_input=3))
    w.decode(0b0101, c)  # the charge line and the high-cell line down
    assert c.loop_ok and not c.charge_ok and c.reasons == R_HIGH_CELL
    w.decode(0b0111, c)  # the high-cell line alone: still no charging
    assert not c.charge_ok and c.reasons == R_HIGH_CELL
    w.decode(0b1101, c)  # the charge line alone: a temperature, or a high cell
    assert not c.charge_ok and c.reasons == R_CHARGE_BLOCK
    w = Wire(_settings(btv_low_temp_input=3, btv_high_temp_input=4))
    w.decode(0b11101, c)  # both temperatures OK: only a high cell is left
    assert c.reasons == R_HIGH_CELL
    w.decode(0b10101, c)
    assert c.reasons == R_LOW_TEMP


def test_polarity_mask_inverts_inputs():
    s = _settings(btv_ok_low_mask=0b011)  # discharge and charge read 0 when OK
    w = Wire(s)
    assert w.ok_levels() == 0b100
    c = Condition()
    w.decode(0b100, c)
    assert c.loop_ok and c.discharge_ok and c.charge_ok and c.reasons == 0
    w.decode(0b101, c)
    assert not c.discharge_ok and c.reasons == R_LOW_CELL


def test_stale_input_is_not_allowed_and_needs_fresh_debounce():
    dec = BtvDecoder(Settings())  # stale_ms 500
    f = Feed(dec)
    assert f.run(OK, 100).loop_ok
    t = f.t
    assert dec.condition(time.ticks_add(t, 500)).loop_ok
    c = dec.condition(time.ticks_add(t, 501))
    assert not c.loop_ok and not c.discharge_ok and c.reasons == R_STALE
    f.t = time.ticks_add(t, 600)
    c = f.run(OK, 5)
    assert c.reasons == R_UNKNOWN  # the old level is not trusted: debounce again
    c = f.run(OK, 50)
    assert c.loop_ok and c.reasons == 0


class _Counting(Debounce):
    feeds = 0

    def feed(self, now, level):
        _Counting.feeds += 1
        return Debounce.feed(self, now, level)


def test_steady_levels_skip_the_debouncers_and_stay_exact():
    # The board samples every 10 ms and the loop rarely changes: once every input has settled,
    # the same levels feed no debouncer (nothing would change), yet a change, a glitch and a
    # stale loop are seen as before.
    dec = BtvDecoder(Settings())
    for i in range(len(dec.deb)):
        dec.deb[i] = _Counting(dec.deb[i].ms)
    f = Feed(dec)
    assert f.run(OK, 100).loop_ok
    n = _Counting.feeds
    assert f.run(OK, 200).loop_ok and _Counting.feeds == n  # 40 samples, no feed
    c = f.run(OK & ~0b001, 5)  # a low cell starts: fed, not yet debounced
    assert c.loop_ok and c.discharge_ok and _Counting.feeds > n
    c = f.run(OK & ~0b001, 100)
    assert not c.discharge_ok and c.reasons == R_LOW_CELL
    assert f.run(OK, 100).discharge_ok
    t = f.t
    assert dec.condition(time.ticks_add(t, 501)).reasons == R_STALE


def test_one_input_going_stale_is_enough():
    dec = BtvDecoder(Settings())
    f = Feed(dec)
    f.run(OK, 100)
    t = f.t
    for _ in range(120):  # only inputs 0 and 2 are read from now on
        t = time.ticks_add(t, 5)
        dec.sample(t, OK, 0b101)
    assert dec.condition(t).reasons == R_STALE


def _selftest_board(dec, t, ms, stuck_mask=0, dt=2):
    """A loop whose inputs follow the test output, except the stuck ones (they keep reading OK)."""
    end = time.ticks_add(t, ms)
    while time.ticks_diff(end, t) > 0:
        t = time.ticks_add(t, dt)
        pulse = dec.drive(t)
        levels = (OK & stuck_mask) if pulse else OK
        dec.sample(t, levels)
        dec.condition(t)
    return t


def test_selftest_passes_when_inputs_follow_the_pulse():
    dec = BtvDecoder(_settings(btv_selftest=True))
    t = _selftest_board(dec, T0, 10000)
    c = dec.condition(t)
    assert dec.tests_passed >= 8 and dec.tests_failed == 0
    assert c.loop_ok and c.reasons == 0  # the pulses never reached the debounced condition


def test_selftest_catches_a_stuck_input():
    dec = BtvDecoder(_settings(btv_selftest=True))
    t = _selftest_board(dec, T0, 3000)
    assert dec.condition(t).loop_ok
    t = _selftest_board(dec, t, 2500, stuck_mask=0b001)  # discharge line stuck at "OK"
    c = dec.condition(t)
    assert not c.loop_ok and not c.discharge_ok and c.reasons == R_STUCK
    t = _selftest_board(dec, t, 1500)  # it follows again: the next pass clears it
    assert dec.condition(t).loop_ok


def test_selftest_that_never_runs_is_a_loop_fault_until_one_passes():
    dec = BtvDecoder(_settings(btv_selftest=True))
    t = T0
    for _ in range(600):  # the board samples but never calls drive(): no pulse ever checked
        t = time.ticks_add(t, 5)
        dec.sample(t, OK)
        assert dec.condition(t).reasons != R_STUCK
    assert dec.condition(t).loop_ok
    for _ in range(110):  # 3 periods + stale_ms without a passed test
        t = time.ticks_add(t, 5)
        dec.sample(t, OK)
    assert dec.condition(t).reasons == R_STUCK
    t = _selftest_board(dec, t, 1500)  # the pulses run again and the inputs follow
    c = dec.condition(t)
    assert dec.tests_passed == 1 and c.loop_ok and c.reasons == 0


def test_selftest_checks_the_inputs_settle_ms_into_the_pulse_when_polled_late():
    # docs/settings.md, btv_selftest_settle_ms: "inputs are checked this long into a pulse". A
    # loop that follows the test output only settle_ms after it goes high, polled about every
    # 10 ms with a task's jitter: a pulse starts at the first poll after it is due, up to 11 ms
    # late, and the check still waits settle_ms from there (else it sees the loop not broken yet).
    settle = 2
    dec = BtvDecoder(_settings(btv_selftest=True, btv_selftest_settle_ms=settle))
    t = T0
    started = was = 0  # when the test output went high; its level at the last poll
    for i in range(2000):  # about 20 s
        t = time.ticks_add(t, (12, 9, 11, 7)[i % 4])
        pulse = dec.drive(t)
        if pulse and not was:
            started = t
        was = pulse
        broken = pulse and time.ticks_diff(t, started) >= settle
        dec.sample(t, 0 if broken else OK)
        dec.condition(t)
    assert dec.tests_failed == 0 and dec.tests_passed >= 15
    assert dec.condition(t).loop_ok


def test_selftest_works_at_the_apps_poll_periods():
    for poll_ms in (1, 10, 50):  # the inputs task: 10 ms, 50 ms in low-power mode
        dec = BtvDecoder(_settings(btv_selftest=True))
        t = _selftest_board(dec, T0, 20000, dt=poll_ms)
        assert dec.tests_failed == 0 and dec.tests_passed >= 15, poll_ms
        assert dec.condition(t).loop_ok
        t = _selftest_board(dec, t, 3000, stuck_mask=0b010, dt=poll_ms)
        assert dec.condition(t).reasons == R_STUCK, poll_ms


def test_selftest_off_never_pulses():
    dec = BtvDecoder(Settings())
    t = T0
    for _ in range(1000):
        t = time.ticks_add(t, 5)
        assert dec.drive(t) == 0
