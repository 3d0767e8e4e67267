"""The app skips Protection.step when nothing it reads changed (host only: hypothesis).

App.protect_step runs Protection.step only when one of its inputs differs from the last step's or
Protection.due() says a step is owed (the last step switched the loads on under a pre-alarm:
Protection.rerun, a timer may have run out, FULL_STEP_MS passed). The skip must never hide a
change: a protection stepped that way is compared, tick by tick, with one stepped at every tick:
the outputs a user sees (every Outputs field) and the event log must be the same at every tick,
and a skipped tick is one at which the step would have changed nothing. Random settings, input
sequences and times between ticks (from a tick near the wrap). Counted: the ticks skipped, the
input changes, and the timers that ran out with the inputs unchanged (start-up, the pre-alarm's
delay, a minimum hold), each caught by due(). A step run again at once changes something only
where rerun says so. The last test checks that App.protect_step compares every input it fills in.
"""

import sys
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import startup
from firmware.core import codes
from firmware.core.events import EventLog
from firmware.core.protection import FULL_STEP_MS, Protection
from firmware.core.settings import Settings
from tools.hostcompat import ticks_add, ticks_diff

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vmtest import fresh_root  # noqa: E402

START = ticks_add(0, -60_000)  # the run crosses the tick wrap
# The battery as the BTV loop tells it: (loop ok, discharge ok, charge ok, pre-alarm, reasons)
BATTERY = {
    "ok": (True, True, True, False, 0),
    "prealarm": (True, True, True, True, codes.R_PREALARM),
    "low_cell": (True, False, True, True, codes.R_LOW_CELL | codes.R_PREALARM),
    "high_cell": (True, True, False, False, codes.R_HIGH_CELL),
    "high_temp": (True, True, False, False, codes.R_HIGH_TEMP),
    "open_loop": (False, False, False, False, codes.R_OPEN_LOOP),
    "stale": (False, False, False, False, codes.R_STALE),
    "unknown": (False, False, False, False, codes.R_UNKNOWN),
}
MODES = (
    codes.MODE_NONE,
    codes.MODE_ON,
    codes.MODE_OFF,
    codes.MODE_CHARGER_ONLY,
    codes.MODE_INVERTER_ONLY,
)
# Inputs fields (btv aside) and the values each takes here
FIELDS = {
    "remote_on": (True, False),
    "remote_known": (True, False),
    "mains": (False, True),
    "ac_in": (False, True),
    "multi_present": (True, False),
    "multi_version": (502, 0, 414, 450),
    "multi_assistant": (-1, 0, 1),
    "multi_mode": MODES,
    "dmc_present": (False, True),
    "dmc_request": MODES,
    "gx_request": MODES,
}

change = st.one_of(
    st.tuples(st.just("btv"), st.sampled_from(sorted(BATTERY))),
    st.sampled_from(sorted(FIELDS)).flatmap(
        lambda f: st.tuples(st.just(f), st.sampled_from(FIELDS[f]))
    ),
)
# (ms to the next tick, the input changes at that tick): mostly the task's 50 ms, sometimes
# long gaps that let the timers run out with nothing else happening
tick = st.tuples(
    st.one_of(st.integers(1, 60), st.integers(60, 40_000)),
    st.lists(change, max_size=2),
)


RUNS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
GIVEN = given(
    startup_ms=st.integers(500, 5000),
    hold_s=st.integers(1, 20),
    ticks=st.lists(tick, min_size=1, max_size=120),
)


def _settings(startup_ms, hold_s):
    s = Settings()
    s.set("startup_ok_ms", startup_ms)
    s.set("min_hold_s", hold_s)
    return s


def _apply(p, name, value):
    if name == "btv":
        c = p.inputs.btv
        c.loop_ok, c.discharge_ok, c.charge_ok, c.prealarm, c.reasons = BATTERY[value]
    else:
        setattr(p.inputs, name, value)


def _seen(p):
    """What the skipping caller compares: every input, the condition's fields included."""
    i, c = p.inputs, p.inputs.btv
    return (c.loop_ok, c.discharge_ok, c.charge_ok, c.prealarm, c.reasons) + tuple(
        getattr(i, f) for f in FIELDS
    )


def _outputs(p):
    d = dict(vars(p.outputs))
    del d["changed"]  # what changed in the last step run: a skipped tick runs none
    return d


def _story(*parts):
    """Ticks 50 ms apart: a battery kind, then that many ticks with nothing new, and so on."""
    out = []
    for kind, quiet in zip(parts[::2], parts[1::2]):
        out += [(50, [("btv", kind)])] + [(50, [])] * quiet
    return out


def run_pair(s, ticks, seen):
    ref = Protection(s, EventLog(4096))
    skp = Protection(s, EventLog(4096))
    for p in (ref, skp):
        p.inputs.remote_on = True
        p.inputs.btv.loop_ok = False
        p.inputs.btv.reasons = codes.R_UNKNOWN
    now = START
    last = None
    last_full = now
    for dt, changes in ticks:
        now = ticks_add(now, dt)
        for name, value in changes:
            _apply(ref, name, value)
            _apply(skp, name, value)
        ref.step(now)
        news = _seen(skp) != last
        if news or skp.due(now):
            skp.step(now)
            last = _seen(skp)
            last_full = now
            if news:
                seen["input changes"] += 1
            elif ref.outputs.changed:
                seen["timer ran out, caught by due()"] += 1
        else:
            seen["ticks skipped"] += 1
            assert ref.outputs.changed == 0, "a skipped tick would have changed %s" % (
                ref.outputs.changed
            )
            assert ticks_diff(now, last_full) < FULL_STEP_MS
        assert _outputs(skp) == _outputs(ref), "outputs differ at +%d ms" % ticks_diff(now, START)
        assert skp.log.entries() == ref.log.entries(), "event logs differ"


def test_skipping_an_unchanged_step_changes_nothing_a_user_sees():
    seen = {"ticks skipped": 0, "input changes": 0, "timer ran out, caught by due()": 0}

    @RUNS
    # Each timer running out with nothing else changing, whatever the random draws: start-up;
    # low cell, its pre-alarm delay, the loads' hold after the loop is back; a high cell's charge
    # disconnect hold; then a loop fault (latched: start-up's timer again), the Multi's hold.
    @example(startup_ms=500, hold_s=10, ticks=_story("ok", 20, "low_cell", 700, "ok", 240))
    @example(startup_ms=500, hold_s=2, ticks=_story("ok", 20, "high_cell", 10, "ok", 60))
    @example(
        startup_ms=500, hold_s=2, ticks=_story("ok", 20, "high_cell", 25, "open_loop", 2, "ok", 80)
    )
    @GIVEN
    def prop(startup_ms, hold_s, ticks):
        run_pair(_settings(startup_ms, hold_s), ticks, seen)

    prop()
    assert all(seen.values()), seen


def test_the_app_runs_the_step_when_any_input_it_fills_changes():
    """Each input App.protect_step fills in (from the remote terminal, the mains detector, the BTV
    decoder and the bus role), changed alone with nothing due, runs Protection.step."""
    app = startup.build(fresh_root("protect-skip"), lambda: 0, Settings())
    calls = []
    step = app.prot.step
    app.prot.step = lambda now, inp=None: calls.append(now) or step(now, inp)
    app.prot.due = lambda now: False
    remote, mains, btv, role = app.remote, app.mains, app.btv, app.role

    def fixed(obj, name, value):  # the source tells `value` from now on
        setattr(obj, name, lambda *_: value)

    def btv_moves(k):  # the decoder fills its condition from other levels from now on
        btv.condition = lambda _now: setattr(btv, "filled_from", k)  # pyright: ignore[reportAttributeAccessIssue]

    news = {  # each makes its source tell something else than the last step read
        "remote_on": lambda: fixed(remote, "on", not app.inp.remote_on),
        "remote_known": lambda: fixed(remote, "known", not app.inp.remote_known),
        "mains": lambda: fixed(mains, "present", not app.inp.mains),
        "btv": lambda: btv_moves(btv.filled_from + 1),
        "ac_in": lambda: setattr(role, "ac_in", not role.ac_in),
        "multi_present": lambda: setattr(role, "multi_present", not role.multi_present),
        "multi_version": lambda: setattr(role, "multi_version", role.multi_version + 1),
        "multi_mode": lambda: setattr(role, "multi_mode", role.multi_mode + 1),
        "gx_request": lambda: setattr(role, "gx_request", role.gx_request + 1),
        "dmc_present": lambda: setattr(role, "dmc", not role.dmc),
        "dmc_request": lambda: setattr(role, "dmc_request", role.dmc_request + 1),
    }
    app.protect_step(0)
    app.protect_step(0)
    assert calls == [0], "a step with nothing new ran Protection.step"
    for name, make in news.items():
        make()
        app.protect_step(0)
        assert len(calls) == 2, "%s changed and Protection.step did not run" % name
        app.protect_step(0)
        assert len(calls) == 2, "%s: a step with nothing new after it ran Protection.step" % name
        del calls[1:]


def run_rerun(s, ticks, seen):
    """Each step, then the same step again at once: it changes something only where the first
    said so (Protection.rerun: App.protect_edge then runs it at once, else it waits for due())."""
    p = Protection(s, EventLog(4096))
    p.inputs.remote_on = True
    now = START
    for dt, changes in ticks:
        now = ticks_add(now, dt)
        for name, value in changes:
            _apply(p, name, value)
        p.step(now)
        rerun, changed = p.rerun, p.outputs.changed
        before, logged = _outputs(p), len(p.log.entries())
        p.step(now)
        if rerun:
            seen["reruns owed"] += 1
            if p.outputs.changed:
                seen["reruns that changed something"] += 1
            continue
        if changed:
            seen["changes with no rerun owed"] += 1
        at = ticks_diff(now, START)
        assert p.outputs.changed == 0, "no rerun owed, the next step changed %s at +%d ms" % (
            p.outputs.changed,
            at,
        )
        assert _outputs(p) == before, "a step with no rerun owed: the next changed the outputs"
        assert len(p.log.entries()) == logged, "a step with no rerun owed: the next logged"


def test_a_step_owes_the_next_at_once_only_when_that_one_can_change_something():
    # The manual (1, "Pre-alarm"): the pre-alarm output warns while the loads are on, so it
    # follows the loads switching on; App.protect_edge owes that step at once.
    seen = {
        "reruns owed": 0,
        "reruns that changed something": 0,
        "changes with no rerun owed": 0,
    }

    @RUNS
    # The loads switching on with the battery's pre-alarm already on: the pre-alarm follows.
    @example(startup_ms=500, hold_s=2, ticks=_story("prealarm", 20))
    @example(startup_ms=500, hold_s=2, ticks=_story("ok", 20, "low_cell", 700, "prealarm", 80))
    @GIVEN
    def prop(startup_ms, hold_s, ticks):
        run_rerun(_settings(startup_ms, hold_s), ticks, seen)

    prop()
    assert all(seen.values()), seen
