"""The event log a user reads after a day of the battery's life: every state change with its
cause, in the manual's words, at the time the rules say (design: "every state change goes into
the event log with its cause"). Also the state and charge rate shown along the way. Both VMs."""

import time

from core_rig import Rig

from firmware.core.codes import (
    CH_ERROR,
    CH_LOW_POWER,
    CH_MODE,
    CH_PREALARM,
    MODE_CHARGER_ONLY,
    R_HIGH_CELL,
    R_OPEN_LOOP,
    R_REMOTE_OFF,
    R_STARTUP,
    ST_CHARGE_OFF,
    ST_LOOP_FAULT,
    ST_REMOTE_OFF,
    ST_RUN,
    ST_STARTUP,
    ST_VEBUS_ERROR,
)

# (ms since boot, log line). Times: start-up 2 s (startup_ok_ms); load disconnect 30 s after the
# pre-alarm went high (manual); outputs back min_hold_s (10 s) after they went off; a latched loop
# fault clears after the loop read OK for startup_ok_ms.
STORY = [
    (0, "start-up: outputs safe until the BTV loop reads OK"),
    (2000, "start-up: BTV loop OK for 2000 ms, outputs allowed"),
    (2000, "loads on: battery OK"),
    (2000, "chargers on: battery OK"),
    (2000, "Multi: on"),
    (2010, "pre-alarm: battery pre-alarm"),
    (32010, "load disconnect: low cell, 30 s after pre-alarm"),
    (32010, "pre-alarm off: loads switched off"),
    (32010, "Multi: off (low cell, no AC)"),
    (32010, "low-power mode: on"),
    (33020, "mains detector: AC back, Multi restarted in charger-only"),
    (33020, "Multi: charger-only (low cell)"),
    (33020, "low-power mode: off"),
    (42010, "loads on: battery OK (off for 10 s)"),
    (42010, "Multi: on"),
    (46010, "charge disconnect: high cell"),
    (56010, "chargers on: battery OK (off for 10 s)"),
    (58010, "BTV loop fault latched: open loop"),
    (58010, "pre-alarm: open loop"),
    (58010, "charge disconnect: open loop"),
    (58010, "Multi: inverter-only (open loop)"),
    (61010, "BTV loop fault cleared: loop OK for 2000 ms"),
    (61010, "pre-alarm off: battery OK"),
    (61520, "remote on/off: off (outputs floating, Multi in low power)"),
    (61520, "load disconnect: remote off"),
    (61520, "Multi: off (remote off)"),
    (61520, "low-power mode: on"),
    (62520, "remote on/off: on"),
    (68010, "chargers on: battery OK (off for 10 s)"),
    (68010, "low-power mode: off"),
    (71520, "loads on: battery OK (off for 10 s)"),
    (71520, "Multi: on"),
    (74520, "VE.Bus error 15: Multi firmware 400 is below 415, system held off"),
    (74520, "Multi: off (VE.Bus error)"),
    (74520, "low-power mode: on"),
    (74620, "VE.Bus error cleared"),
    (74620, "Multi: on"),
    (74620, "low-power mode: off"),
    (74720, "Multi: charger-only"),
]


def _day():
    r = Rig()
    seen = []

    def look():
        seen.append((r.o.state, r.o.reasons, r.o.charge_rate))

    look()
    r.started()
    look()
    r.i.multi_present = True
    r.i.multi_version = 502
    r.prealarm()
    r.run(5000)
    r.low_cell(pa=True)
    r.run(26000)
    r.i.mains = True  # the mains detector sees AC back
    r.run(1000)
    r.ok()
    r.run(12000)
    r.high_cell()
    r.run(1000)
    look()
    r.ok()
    r.run(11000)
    r.open_loop()
    r.run(1000)
    look()
    r.ok()
    r.run(2500)
    r.i.remote_on = False
    r.run(1000)
    look()
    r.i.remote_on = True
    r.run(12000)
    r.i.multi_version = 400
    r.run(100)
    look()
    r.i.multi_version = 502
    r.run(100)
    r.i.gx_request = MODE_CHARGER_ONLY
    r.run(100)
    return r, seen


def test_a_days_event_log_tells_each_change_with_its_cause_in_order():
    r, _ = _day()
    t0 = r.log.entries()[0][0]
    got = [(time.ticks_diff(e[0], t0), line) for e, line in zip(r.log.entries(), r.texts())]
    k = 0
    for want in STORY:  # in this order; a line not listed here may come between
        while k < len(got) and got[k] != want:
            k += 1
        assert k < len(got), want
        k += 1


def test_state_reasons_and_charge_rate_along_the_day():
    _, seen = _day()
    assert seen[0] == (ST_STARTUP, seen[0][1], 0) and seen[0][1] & R_STARTUP
    assert seen[1] == (ST_RUN, 0, 100)  # all OK: charge at the full rate
    assert seen[2] == (ST_CHARGE_OFF, R_HIGH_CELL, 10)  # reduced_charge_rate_pct
    assert seen[3] == (ST_LOOP_FAULT, R_OPEN_LOOP, 0)
    assert seen[4][0] == ST_REMOTE_OFF and seen[4][1] & R_REMOTE_OFF and seen[4][2] == 0
    assert seen[5][0] == ST_VEBUS_ERROR


def test_loads_off_for_two_days_log_the_whole_time():
    # the log says how long loads were off (seconds), also past the tick wrap of a board
    r = Rig(min_hold_s=1)
    r.started()
    for _ in range(2):  # the second disconnect counts from its own switch-off
        r.low_cell()
        r.run(31_000)
        assert r.o.load == 0
        for _ in range(2 * 24 * 6):  # two days, a step every 10 minutes
            r.t = time.ticks_add(r.t, 600_000)
            r.step()
        r.t = time.ticks_add(r.t, 5_000)
        r.step()
        r.ok()
        # off 1 s before the two days (31 s of low cell, 30 s of pre-alarm), 5 s after them
        assert "loads on: battery OK (off for 172806 s)" in r.texts()[-4:]


def test_changed_bits_name_each_output_that_changed_in_the_step():
    r = Rig()
    r.started()
    r.step()
    assert r.o.changed == 0
    r.prealarm()
    assert r.o.changed == CH_PREALARM
    r.ok()
    assert r.o.changed == CH_PREALARM
    r.i.multi_present = True
    r.i.multi_version = 400  # VE.Bus error 15: the Multi held off, low power
    r.step()
    assert r.o.changed == CH_ERROR | CH_MODE | CH_LOW_POWER
    r.i.multi_version = 0  # version not known (yet): no error
    r.step()
    assert r.o.error == 0 and r.o.changed == CH_ERROR | CH_MODE | CH_LOW_POWER
