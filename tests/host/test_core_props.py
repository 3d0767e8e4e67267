"""Property tests of firmware/core's protection (host only: hypothesis).

Random sequences of battery conditions, remote on/off, mains and GX/DMC requests, stepped at
random intervals from a random tick (often across the wrap). Invariants of issue 4:
  - never discharge allowed once low cell or open loop has outlasted the pre-alarm delay;
  - never charge allowed while high cell, a temperature alarm or open loop (past debounce);
  - load disconnect never floats sooner than prealarm_to_disconnect_s after the pre-alarm output
    went high (remote off excepted: it floats everything at once, by rule);
  - no output switches on sooner than min_hold_s after it switched off;
  - remote off means every output floating (and the Multi off);
a loop fault stays latched (chargers off) until the loop reads OK for startup_ok_ms;
and the Multi is never asked to invert while loads are off nor to charge during a loop fault,
and nothing is on before the loop has read OK for startup_ok_ms.
A second property runs raw input levels through BtvDecoder (debounce) into the protection.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.core.btv import BtvDecoder
from firmware.core.codes import (
    FLOAT,
    HIGH,
    MODE_CHARGER_ONLY,
    MODE_INVERTER_ONLY,
    MODE_OFF,
    MODE_ON,
    R_HIGH_CELL,
    R_HIGH_TEMP,
    R_LOW_CELL,
    R_LOW_TEMP,
    R_OPEN_LOOP,
    R_PREALARM,
    R_STUCK,
)
from firmware.core.events import EventLog
from firmware.core.protection import Protection
from firmware.core.settings import Settings
from tools.hostcompat import ticks_add, ticks_diff

# kind -> (loop_ok, discharge_ok, charge_ok, prealarm, reasons)
KINDS = {
    "ok": (True, True, True, False, 0),
    "prealarm": (True, True, True, True, R_PREALARM),
    "low_cell": (True, False, True, False, R_LOW_CELL),
    "low_cell_pa": (True, False, True, True, R_LOW_CELL | R_PREALARM),
    "high_cell": (True, True, False, False, R_HIGH_CELL),
    "low_temp": (True, True, False, False, R_LOW_TEMP),
    "high_temp": (True, True, False, False, R_HIGH_TEMP),
    "low_and_high": (True, False, False, False, R_LOW_CELL | R_HIGH_CELL),
    "open_loop": (False, False, False, False, R_OPEN_LOOP),
    "stuck": (False, False, False, False, R_STUCK),
}
MODES = (0, MODE_OFF, MODE_CHARGER_ONLY, MODE_INVERTER_ONLY, MODE_ON)
PERIOD = 1 << 30

segment = st.tuples(
    st.sampled_from(sorted(KINDS)),
    st.integers(0, 50000),  # duration ms
    st.sampled_from((True, True, True, False)),  # remote on
    st.booleans(),  # mains
    st.sampled_from(MODES),  # GX request
    st.booleans(),  # DMC present
    st.sampled_from(MODES),  # DMC request
    st.sampled_from((1, 10, 33, 100, 500, 1000)),  # step interval ms
)


class Checker:
    def __init__(self, s, t0):
        self.delay = s.prealarm_to_disconnect_s * 1000
        self.hold = s.min_hold_s * 1000
        self.startup = s.startup_ok_ms
        self.t0 = t0
        self.dis_bad_since = None  # low cell or open loop, continuously
        self.loop_ok_since = None
        self.ever_started = False
        self.latched = False
        self.pa_since = None
        self.prev = None
        self.off_at = {"load": None, "charge": None}

    def check(self, t, inp, o):
        c = inp.btv
        el = ticks_diff
        # start-up
        if c.loop_ok:
            if self.loop_ok_since is None:
                self.loop_ok_since = t
            if el(t, self.loop_ok_since) >= self.startup:
                self.ever_started = True
                self.latched = False
        else:
            self.loop_ok_since = None
            self.latched = True
        if self.latched:  # a loop fault holds chargers off until the loop read OK long enough
            assert o.latched and not o.allow_charge and o.charge_rate == 0
        if not self.ever_started:
            assert o.load == FLOAT and o.charge == FLOAT and o.prealarm == FLOAT
            assert o.multi_mode == MODE_OFF
        # discharge never allowed once low cell / open loop outlasted the delay
        if not c.discharge_ok or not c.loop_ok:
            if self.dis_bad_since is None:
                self.dis_bad_since = t
            if el(t, self.dis_bad_since) >= self.delay:
                assert not o.allow_discharge and o.load == FLOAT
        else:
            self.dis_bad_since = None
        # never charge allowed while high cell, temperature or open loop
        if c.reasons & (R_HIGH_CELL | R_LOW_TEMP | R_HIGH_TEMP) or not c.loop_ok:
            assert not o.allow_charge and o.charge == FLOAT
        if not c.loop_ok:
            assert o.charge_rate == 0 and o.multi_mode in (MODE_OFF, MODE_INVERTER_ONLY)
        # remote off: every output floating
        if not inp.remote_on:
            assert o.load == FLOAT and o.charge == FLOAT and o.prealarm == FLOAT
            assert o.multi_mode == MODE_OFF and o.low_power
        # the Multi never inverts with loads off
        if o.multi_mode in (MODE_ON, MODE_INVERTER_ONLY):
            assert o.load == HIGH
        # load disconnect >= delay after the pre-alarm output went high
        prev = self.prev
        if prev is not None:
            if prev[0] == HIGH and o.load == FLOAT and inp.remote_on:
                assert self.pa_since is not None and prev[2] == HIGH
                assert el(t, self.pa_since) >= self.delay
            for name, i in (("load", 0), ("charge", 1)):
                now_lv = o.load if i == 0 else o.charge
                if prev[i] == HIGH and now_lv == FLOAT:
                    self.off_at[name] = t
                if prev[i] == FLOAT and now_lv == HIGH and self.off_at[name] is not None:
                    assert el(t, self.off_at[name]) >= self.hold, name
        if o.prealarm == HIGH:
            if self.pa_since is None:
                self.pa_since = t
        else:
            self.pa_since = None
        self.prev = (o.load, o.charge, o.prealarm)


def _run(s, t0, segments, latched):
    p = Protection(s, EventLog(16), latched=latched)
    inp = p.inputs
    chk = Checker(s, t0)
    chk.latched = latched
    t = t0
    for kind, dur, remote, mains, gx, dmc_present, dmc, dt in segments:
        c = inp.btv
        c.loop_ok, c.discharge_ok, c.charge_ok, c.prealarm, c.reasons = KINDS[kind]
        inp.remote_on = remote
        inp.mains = mains
        inp.gx_request = gx
        inp.dmc_present = dmc_present
        inp.dmc_request = dmc
        end = ticks_add(t, dur)
        while True:
            o = p.step(t, inp)
            chk.check(t, inp, o)
            left = ticks_diff(end, t)
            if left <= 0:
                break
            t = ticks_add(t, min(dt, left))
    return p


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    segments=st.lists(segment, min_size=1, max_size=10),
    t0=st.one_of(st.integers(PERIOD - 120000, PERIOD - 1), st.integers(0, PERIOD - 1)),
    delay_s=st.sampled_from((30, 31, 45)),
    hold_s=st.sampled_from((1, 10, 25)),
    latched=st.booleans(),
)
def test_protection_invariants_hold_for_any_input_sequence(segments, t0, delay_s, hold_s, latched):
    s = Settings()
    s.set("prealarm_to_disconnect_s", delay_s)
    s.set("min_hold_s", hold_s)
    _run(s, t0, segments, latched)


# Short segments move the lines often; long ones hold a level past the pre-alarm delay, so the
# discharge half of the property runs (counted below: a half that never runs checks nothing).
raw_segment = st.one_of(
    st.tuples(
        st.integers(0, 7),  # raw levels of discharge / charge / pre-alarm lines (1 = OK)
        st.integers(1, 3000),  # duration ms
        st.sampled_from((1, 5, 20)),  # sample interval ms
    ),
    st.tuples(st.integers(0, 7), st.integers(30000, 40000), st.sampled_from((10, 20))),
)


def test_raw_levels_through_the_debouncer_never_allow_what_the_loop_forbids():
    seen = {"charge": 0, "discharge": 0}

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(segments=st.lists(raw_segment, min_size=1, max_size=20), t0=st.integers(0, PERIOD - 1))
    def prop(segments, t0):
        s = Settings()
        dec = BtvDecoder(s)
        p = Protection(s, EventLog(16))
        inp = p.inputs
        inp.remote_on = True
        t = t0
        chg_bad_since = None
        dis_bad_since = None
        slack = s.debounce_ms + 20  # debounce plus one sample interval
        for levels, dur, dt in segments:
            end = ticks_add(t, dur)
            while ticks_diff(end, t) > 0:
                t = ticks_add(t, dt)
                dec.sample(t, levels)
                inp.btv = dec.condition(t)
                o = p.step(t, inp)
                if not levels & 0b010:  # charge line says "not allowed"
                    chg_bad_since = t if chg_bad_since is None else chg_bad_since
                    if ticks_diff(t, chg_bad_since) >= slack:
                        assert not o.allow_charge and o.charge == FLOAT
                        seen["charge"] += 1
                else:
                    chg_bad_since = None
                if not levels & 0b001:  # discharge line says "not allowed"
                    dis_bad_since = t if dis_bad_since is None else dis_bad_since
                    if ticks_diff(t, dis_bad_since) >= slack + s.prealarm_to_disconnect_s * 1000:
                        assert not o.allow_discharge and o.load == FLOAT
                        seen["discharge"] += 1
                else:
                    dis_bad_since = None

    prop()
    assert seen["charge"] > 0 and seen["discharge"] > 0, seen
