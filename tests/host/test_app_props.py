"""Property tests of the safety rules through the whole app (host only: hypothesis).

startup.build() makes the app from random settings (remote wiring mode and levels, mains detector,
how many BTV inputs are wired and their polarity, vebus_mode, DMC, the timing thresholds within
their ranges); its task steps run at their periods on the fake machine in virtual time. The
battery drives the BTV input pins as the loop's wiring says, the remote terminal's pins follow
docs/hardware.md's front end, and the bus carries a scripted Multi (syncs, AC in, its firmware
version) plus random frames from other controllers on both ports: switch requests (on, off,
charger-only, inverter-only), BMS probes and garbage.

Invariants, each from the manual or the design's safety rules (not from the firmware):
  - outputs floating from boot until the loop has read OK for startup_ok_ms (start-up);
  - nothing received on the bus makes the BMS allow what the BTV loop forbids: the output pins,
    the status frames it sends (allow charge / discharge) and the switch frames (never "on" or
    "inverter only" once low cell has switched the loads off; never charging in a loop fault);
  - the pre-alarm output is high at least 30 s (and prealarm_to_disconnect_s) before the loads
    go off, and floats with them (manual: "The BMS keeps at least 30 s between pre-alarm on and
    load disconnect. When the loads are switched off the pre-alarm output switches off again");
  - remote off: every output floating.
Each check counts how often its branch ran; a branch that never ran fails the test.
"""

import gc
import sys
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from multi import ScriptedMulti  # pyright: ignore[reportMissingImports]

import startup
from firmware.app import PERIODS, TASK_NAMES
from firmware.core.settings import Settings
from firmware.hw.board_pico import PROFILE
from vebus import catalogue as cat
from vebus import encode_data, peers

T_INPUTS = TASK_NAMES.index("inputs")
T_LEDS = TASK_NAMES.index("leds")
T_PROTECT = TASK_NAMES.index("protect")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vmtest import fresh_root  # noqa: E402

machine = __import__("machine")  # the fake of tests/fakes

OUTS = tuple(p for p, _ in PROFILE["outputs"])  # load / charge disconnect, pre-alarm
BTV_PINS = (16, 17, 18, 19, 20, 21)
REMOTE_L, REMOTE_H, MAINS = 10, 11, 12
START = (1 << 30) - 20_000  # ticks: the run crosses the wrap
MANUAL_PREALARM_MS = 30_000  # manual: at least 30 s between pre-alarm on and load disconnect

# What the battery says: (discharge ok, charge ok, pre-alarm, low temp, high temp, loop intact)
BATTERY = {
    "ok": (True, True, False, False, False, True),
    "prealarm": (True, True, True, False, False, True),
    "low_cell": (False, True, True, False, False, True),
    "high_cell": (True, False, False, False, False, True),
    "low_temp": (True, False, False, True, False, True),
    "high_temp": (True, False, False, False, True, True),
    "open_loop": (False, False, False, False, False, False),
}
# The remote terminal (docs/hardware.md: L pulled up, H pulled down; a bridge reads high on both)
TERMINAL = {"open": (1, 0), "bridge": (1, 1), "l_low": (0, 0), "h_high": (1, 1)}


def remote_on(s, terminal):
    """The manual's rule as the settings select it: ON for a bridge, L pulled low or H high. The
    levels are docs/hardware.md's front end; the settings say which level of L / H means "pulled"
    (a board without a bridge test reads a bridge as L not pulled low and H pulled high)."""
    lv, hv = TERMINAL[terminal]
    l_on = lv == s.remote_l_on_level
    h_on = hv == s.remote_h_on_level
    bridge = h_on and not l_on
    return {
        "any": l_on or h_on or bridge,
        "bridge": bridge,
        "l_low": l_on,
        "h_high": h_on,
    }[s.remote_mode]


wiring = st.fixed_dictionaries(
    {
        "remote_mode": st.sampled_from(("any", "bridge", "l_low", "h_high")),
        "remote_l_on_level": st.sampled_from((0, 0, 1)),
        "remote_h_on_level": st.sampled_from((1, 1, 0)),
        "mains_detector": st.booleans(),
        "mains_on_level": st.integers(0, 1),
        "btv_prealarm_input": st.sampled_from((2, -1)),
        "btv_loop_input": st.sampled_from((-1, 3)),
        "btv_low_temp_input": st.sampled_from((-1, 4)),
        "btv_high_temp_input": st.sampled_from((-1, 5)),
        "btv_ok_low_mask": st.integers(0, 63),
        "vebus_mode": st.sampled_from(("bms", "listen")),
        "dmc_present": st.booleans(),
        "startup_ok_ms": st.sampled_from((500, 501, 2000, 3000)),
        "prealarm_to_disconnect_s": st.sampled_from((30, 31, 40)),
        "min_hold_s": st.sampled_from((1, 10, 20)),
        "debounce_ms": st.sampled_from((5, 50, 200)),
        "stale_ms": st.sampled_from((200, 500, 1000)),
        "reduced_charge_rate_pct": st.integers(0, 100),
    }
)
segment = st.tuples(
    st.sampled_from(sorted(BATTERY)),
    st.one_of(st.integers(100, 4000), st.integers(31_000, 42_000)),  # ms
    st.sampled_from(("open", "bridge", "l_low", "h_high", "bridge", "l_low", "h_high")),
    st.booleans(),  # mains / AC in
    st.lists(  # bus frames from other controllers in this segment: (port, kind, value)
        st.tuples(
            st.integers(0, 1),
            st.sampled_from(("switch", "probe", "garbage")),
            st.sampled_from((cat.SWITCH_ON, cat.SWITCH_CHARGER_ONLY, cat.SWITCH_INVERTER_ONLY, 4)),
        ),
        max_size=4,
    ),
)


class World:
    """The outside world of the fake machine: battery lines, remote terminal, mains, the bus."""

    def __init__(self, s):
        self.s = s
        self.inputs = {}  # signal -> input number (wired ones)
        for sig in ("discharge", "charge", "prealarm", "loop", "low_temp", "high_temp"):
            n = s.get("btv_%s_input" % sig)
            if n >= 0:
                self.inputs[sig] = n

    def battery(self, kind):
        dis, chg, pa, lt, ht, loop = BATTERY[kind]
        ok = {
            "discharge": dis,
            "charge": chg,
            "prealarm": not pa,
            "low_temp": not lt,
            "high_temp": not ht,
            "loop": loop,
        }
        for sig, n in self.inputs.items():
            good = ok[sig] and loop  # an open loop drops every line
            level = 1 if good else 0
            if self.s.btv_ok_low_mask >> n & 1:
                level ^= 1
            machine.Pin(BTV_PINS[n]).external = level

    def terminal(self, t, mains):
        lv, hv = TERMINAL[t]
        machine.Pin(REMOTE_L).external = lv
        machine.Pin(REMOTE_H).external = hv
        # docs/hardware.md: an optocoupler pulls the pulled-up input low while AC is present
        machine.Pin(MAINS).external = 0 if mains else 1


def _frames(items, pay, buf):
    out = []
    for port, kind, value in items:
        if kind == "switch":
            n = encode_data(buf, cat.BMS_ADDR, 0x21, pay, cat.build_switch(pay, value))
            data = bytes(buf[:n])
        elif kind == "probe":
            n = encode_data(buf, cat.BMS_ADDR, 0x22, pay, peers.build_probe(pay))
            data = bytes(buf[:n])
        else:
            data = bytes([value, 0x83, 0xFE, 0x80, value, 0xFF])
        out.append((port, data))
    return out


class Check:
    """The invariants, with a count of how often each branch ran."""

    def __init__(self, s, seen):
        self.s = s
        self.seen = seen
        self.valid_since = None  # the loop reads OK on every wired line since
        self.started = False
        self.latched_until_valid = False
        self.dis_bad_since = None
        self.chg_bad_since = None
        self.loop_bad_since = None
        self.remote_since = None  # when the terminal last changed (ticks)
        self.remote = None
        self.pa_since = None
        self.prev_load = False
        self.prev2_load = False
        self.slack = s.debounce_ms + PERIODS[T_INPUTS][0] + PERIODS[T_PROTECT][0] + 20

    def pins(self):
        return [not machine.pins[p].is_floating() for p in OUTS]

    def watch(self, t):
        """After each inputs step: the pre-alarm output goes high there (a debounced line), up
        to a protect period before the next check; its time is taken here."""
        if self.pa_since is None and self.pins()[2]:
            self.pa_since = t

    def step(self, t, kind, rem, rem_read, sent):
        s = self.s
        seen = self.seen
        dis, chg, _pa, _lt, _ht, loop = BATTERY[kind]
        el = _diff
        load, charge, pre = self.pins()
        # start-up: nothing on before the loop has read valid (intact) for startup_ok_ms
        if loop:
            self.valid_since = t if self.valid_since is None else self.valid_since
        else:
            self.valid_since = None
        if not self.started:
            if self.valid_since is None or el(t, self.valid_since) < s.startup_ok_ms:
                assert not (load or charge or pre), "output on during start-up"
                seen["startup_safe"] += 1
            else:
                self.started = True
        # a loop fault holds the chargers off until the loop read OK for startup_ok_ms
        if not loop:
            self.latched_until_valid = True
        elif self.latched_until_valid:
            if el(t, self.valid_since) >= s.startup_ok_ms:
                self.latched_until_valid = False
            elif el(t, self.chg_bad_since or t) >= self.slack:
                assert not charge, "charge on while a loop fault is latched"
                seen["latched"] += 1
        # remote off: every output floating
        if rem_read != self.remote:
            self.remote = rem_read
            self.remote_since = t
        if not rem and el(t, self.remote_since) >= self.slack:
            assert not (load or charge or pre), "output on with the remote off"
            seen["remote_off"] += 1
        # what the loop forbids stays forbidden, whatever came over the bus
        if not dis or not loop:
            self.dis_bad_since = t if self.dis_bad_since is None else self.dis_bad_since
            if el(t, self.dis_bad_since) >= self.slack + s.prealarm_to_disconnect_s * 1000:
                assert not load, "loads on while the loop forbids discharge"
                seen["discharge_forbidden"] += 1
        else:
            self.dis_bad_since = None
        if not loop:
            self.loop_bad_since = t if self.loop_bad_since is None else self.loop_bad_since
        else:
            self.loop_bad_since = None
        if not chg or not loop:
            self.chg_bad_since = t if self.chg_bad_since is None else self.chg_bad_since
            if el(t, self.chg_bad_since) >= self.slack:
                assert not charge, "chargers on while the loop forbids charging"
                seen["charge_forbidden"] += 1
        else:
            self.chg_bad_since = None
        # What the BMS said on the bus since the last step: a frame goes out in the slot after
        # the step that decided it, so it is judged by the loads of the last two steps too.
        recent_load = load or self.prev_load or self.prev2_load
        for p in sent:
            self.bus(t, p, recent_load)
        # pre-alarm at least 30 s before the loads go off, and off with them
        if pre:
            self.pa_since = t if self.pa_since is None else self.pa_since
        if self.prev_load and not load:
            if rem_read and el(t, self.remote_since) >= self.slack:
                assert self.pa_since is not None, "loads off without a pre-alarm"
                held = el(t, self.pa_since)
                assert held >= MANUAL_PREALARM_MS and held >= s.prealarm_to_disconnect_s * 1000
                assert not pre, "pre-alarm still high after the load disconnect"
                seen["load_off_after_prealarm"] += 1
        if not pre:
            self.pa_since = None
        self.prev2_load = self.prev_load
        self.prev_load = load

    def bus(self, t, p, load):
        seen = self.seen
        loop_bad = self.loop_bad_since is not None and _diff(t, self.loop_bad_since) > self.slack
        chg_bad = self.chg_bad_since is not None and _diff(t, self.chg_bad_since) > self.slack
        dis_bad = self.dis_bad_since is not None and not load
        if peers.is_bms_status(p, len(p)):
            flags = p[6]
            if chg_bad:
                assert flags & cat.STATUS_HIGH_CELL, "status allows charging the loop forbids"
                seen["status_charge"] += 1
            if dis_bad:
                assert flags & cat.STATUS_LOW_CELL, "status allows discharging with loads off"
                seen["status_discharge"] += 1
        elif p[0] == cat.MSG_SWITCH and len(p) >= cat.SWITCH_LEN:
            mode = p[1]
            if not load:
                assert mode not in (cat.SWITCH_ON, cat.SWITCH_INVERTER_ONLY), "Multi inverts"
                seen["switch_loads_off"] += 1
            if loop_bad:
                assert mode not in (cat.SWITCH_ON, cat.SWITCH_CHARGER_ONLY), "Multi charges"
                seen["switch_loop_fault"] += 1


def _diff(a, b):
    return ((a - b + (1 << 29)) & ((1 << 30) - 1)) - (1 << 29)


def _build(params):
    s = Settings()
    for k in sorted(params):
        s.set(k, params[k])
    machine.reset_fakes()
    for p in OUTS:  # as a crash might have left them: driven
        machine.Pin(p, machine.Pin.OUT, value=1)
    return s


class _Clock:
    def __init__(self):
        self.t = START

    def ticks_ms(self):
        return self.t


def run_app(params, segments, version, seen):
    s = _build(params)
    clock = _Clock()
    world = World(s)
    world.battery(segments[0][0])
    world.terminal(segments[0][2], segments[0][3])
    gc.collect()
    app = startup.build(fresh_root("app-props"), clock.ticks_ms, s)
    chk = Check(s, seen)
    assert chk.pins() == [False, False, False], "outputs driven after build"
    multi = ScriptedMulti(machine.uarts[0], clock.t, version=version, keep=1 << 30)
    pay = bytearray(32)
    buf = bytearray(80)
    got = 0
    for kind, dur, term, mains, bus in segments:
        world.battery(kind)
        world.terminal(term, mains)
        multi.ac_in = mains
        frames = _frames(bus, pay, buf)
        rem = remote_on(s, term)
        rem_read = rem
        for ms in range(0, dur, 2):
            t = clock.t
            multi(t)
            if frames and ms % 200 == 100:  # another controller speaks
                port, data = frames.pop()
                machine.uarts[port].inject(data)
                if port == 0 and data[4] == cat.MSG_SWITCH:
                    seen["bus_request"] += 1
            app.bus_step(t)
            if ms % PERIODS[T_INPUTS][0] == 0:
                app.inputs_step(t)
                while app.protect_slice(t):  # what the inputs task runs after its step
                    pass
                chk.watch(t)
            if ms % PERIODS[T_PROTECT][0] == 0:
                app.protect_step(t)
                sent = [g[3] for g in multi.got[got:]]
                got = len(multi.got)
                chk.step(t, kind, rem, rem_read, sent)
            if ms % PERIODS[T_LEDS][0] == 0:
                app.leds_step(t)
            clock.t = (clock.t + 2) & ((1 << 30) - 1)
    return app


DEFAULTS = Settings().as_dict()  # the documented defaults
SEEN = (
    "startup_safe",
    "latched",
    "remote_off",
    "discharge_forbidden",
    "charge_forbidden",
    "load_off_after_prealarm",
    "status_charge",
    "status_discharge",
    "switch_loads_off",
    "switch_loop_fault",
    "bus_request",
)


def test_the_loop_decides_whatever_the_wiring_the_settings_and_the_bus():
    seen = dict.fromkeys(SEEN, 0)

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @example(  # every branch at least once, whatever the random draws
        params=dict(DEFAULTS, vebus_mode="bms"),
        segments=[
            ("ok", 3000, "h_high", False, [(0, "switch", cat.SWITCH_ON)]),
            ("low_cell", 42_000, "h_high", False, [(0, "switch", cat.SWITCH_ON)]),
            ("high_cell", 3000, "h_high", True, [(1, "switch", cat.SWITCH_ON)]),
            ("open_loop", 3000, "h_high", False, [(0, "switch", cat.SWITCH_CHARGER_ONLY)]),
            ("high_cell", 1000, "open", False, [(0, "garbage", 4)]),
        ],
        version=2629491,
    )
    @given(
        params=wiring,
        segments=st.lists(segment, min_size=1, max_size=5),
        version=st.sampled_from((2629491, 1915400, 2629415)),
    )
    def prop(params, segments, version):
        run_app(params, segments, version, seen)

    prop()
    assert all(seen.values()), seen


def test_remote_wired_as_a_bridge_turns_the_bms_on_and_its_removal_off():
    # manual, remote on/off: ON when L and H are joined; no bridge fitted: the BMS stays off
    seen = dict.fromkeys(SEEN, 0)
    params = dict(DEFAULTS, remote_mode="bridge", vebus_mode="listen")
    run_app(params, [("ok", 3000, "bridge", False, [])], 2629491, seen)
    assert [not machine.pins[p].is_floating() for p in OUTS] == [True, True, False]
    run_app(params, [("ok", 3000, "bridge", False, []), ("ok", 1000, "open", False, [])], 0, seen)
    assert [machine.pins[p].is_floating() for p in OUTS] == [True, True, True]
