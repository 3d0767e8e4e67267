"""The manual's rules a user sees, through the whole firmware, continued from
tests/test_manual_rules.py (its own VM process: a Pico-sized heap holds one module's boards):
remote on/off in every wiring, a cold empty battery, the Multi switched off. Runs on CPython and
on the MicroPython VM."""

import gc

from faultrig import Rig
from test_manual_rules import ON, _flashes, _reasons, _running
from vmtest import fresh_root

from firmware.core import events as ev
from firmware.core import texts  # noqa: F401  (ev.text's table, loaded before boards fill the heap)
from firmware.core.codes import (
    EV_FAULT_LATCHED,
    EV_MULTI_SWITCHED,
    MODE_ON,
    R_CHARGE_BLOCK,
    R_LOOP_UNSURE,
    R_LOW_CELL,
    R_LOW_TEMP,
    R_OPEN_LOOP,
)
from vebus import catalogue as cat

REMOTE_ON_FOR = {
    "any": ("bridge", "l_low", "h_high"),
    "bridge": ("bridge", "h_high"),
    "l_low": ("l_low",),
    "h_high": ("bridge", "h_high"),
}


def test_remote_on_off_every_wiring_mode_through_the_app():
    # Remote on/off (manual, ../shared/btv.md): ON when L and H are joined (bridge), L pulled to
    # minus, or H high; OFF in every other case, with no bridge fitted too: outputs floating,
    # the Multi held off (low power). `remote_mode` narrows it to one wiring.
    for mode in ("any", "bridge", "l_low", "h_high"):
        for wiring in ("bridge", "l_low", "h_high"):
            rig = Rig(fresh_root("m_remote"), mode="bms", settings={"remote_mode": mode})
            rig.remote_wiring = wiring
            rig.run(4000)
            on = wiring in REMOTE_ON_FOR[mode]
            assert (rig.outputs() == ON) == on, (mode, wiring)
            assert rig.app.out.low_power != on, (mode, wiring)
            if on:  # and off again when the switch opens
                rig.remote_on = False
                rig.run(500)
                assert rig.all_floating() and rig.app.out.low_power, (mode, wiring)
                assert rig.multi.last_command() == cat.SWITCH_SLEEP, (mode, wiring)
                rig.run(1500)
                texts = [ev.text(c, r, a) for _t, c, r, a in rig.app.log.entries()]
                assert "remote on/off: off (outputs floating, Multi in low power)" in texts
            rig = None  # the next board is built with this one gone (a Pico-sized heap)
            gc.collect()


def test_cold_empty_battery_is_told_from_an_open_loop_where_the_wiring_allows():
    # A cold, empty battery: low cell (3.3: loads off after the pre-alarm) and charging blocked
    # (3.3: low temperature). Both temperature lines wired: the high-temperature line still
    # reads OK, so the loop is intact -- low cell and low temperature, no latched loop fault.
    rig = _running("m_cold_told", settings={"btv_low_temp_input": 3, "btv_high_temp_input": 4})
    bat = rig.battery
    bat.low_cell = bat.high_cell = bat.prealarm = True  # the charge line down with the cold
    bat.down = {3}
    rig.run(1000)
    out = rig.app.out
    assert rig.outputs() == {"load": "high", "charge": "float", "prealarm": "high"}
    assert not out.latched and out.reasons & (R_LOW_CELL | R_LOW_TEMP) == R_LOW_CELL | R_LOW_TEMP
    rig.run(31000)
    assert rig.outputs()["load"] == "float" and not out.latched
    assert EV_FAULT_LATCHED not in [c for _t, c, _r, _a in rig.app.log.entries()]


def test_cold_empty_battery_logged_truthfully_where_the_wiring_cannot_tell():
    # The default wiring (discharge, charge and pre-alarm lines): every line down is an open
    # loop or a cold, empty battery. Safe side: a latched loop fault; the log says both.
    rig = _running("m_cold_untold")
    bat = rig.battery
    bat.low_cell = bat.high_cell = bat.prealarm = True
    rig.run(1000)
    assert rig.app.out.latched
    (why,) = _reasons(rig, EV_FAULT_LATCHED)
    assert why == R_OPEN_LOOP | R_LOOP_UNSURE
    assert ev.text(EV_FAULT_LATCHED, why, 0) == (
        "BTV loop fault latched: open loop, or low cell with charging blocked "
        "(this wiring cannot tell)"
    )
    # an older battery cannot signal pre-alarm: its line, still OK, proves the cable is there
    rig = _running("m_cold_older")
    rig.battery.low_cell = rig.battery.high_cell = True
    rig.run(1000)
    assert not rig.app.out.latched
    assert rig.app.out.reasons & (R_LOW_CELL | R_CHARGE_BLOCK) == R_LOW_CELL | R_CHARGE_BLOCK


def test_1_multi_switched_off_low_power_info_frames_continue():
    # 1, LED indicators: "either due to a low cell/remote off or just switched off by means of
    # the front panel switch, the BMS goes into low power mode but continues to send BMS info
    # frames". The BMS learns it from the Multi's LED frame (its switch register: the field is
    # confirmed, the meaning of its bits inferred -- docs/protocol.md).
    rig = _running("m1_multi_off")
    rig.run(5000)
    assert not rig.app.out.low_power and _flashes(rig, 10000)[1] == 1
    rig.multi.switch_register = 0  # the front panel switch to "off"
    rig.run(1000)
    out = rig.app.out
    assert out.low_power and out.multi_mode == MODE_ON  # the BMS does not switch it on or off
    assert rig.outputs() == ON  # the outputs keep following the loop
    assert [a for _t, c, _r, a in rig.app.log.entries() if c == EV_MULTI_SWITCHED] == [1]
    assert ev.text(EV_MULTI_SWITCHED, 0, 1) == (
        "Multi switched off (front panel switch): BMS in low power mode, BMS info frames continue"
    )
    info = rig.multi.kinds.get(cat.MSG_INFO, 0)
    commands = rig.multi.n_commands
    assert _flashes(rig, 31000)[1] == 0  # status LED dark
    sent = rig.multi.kinds.get(cat.MSG_INFO, 0) - info
    assert 3 <= sent <= 4, sent  # info frames go on, at the low-power interval (10 s)
    assert rig.multi.n_commands == commands  # no switch frames: the BMS leaves it off
    rig.multi.switch_register = 0x30
    rig.run(1000)
    assert not rig.app.out.low_power
    assert [a for _t, c, _r, a in rig.app.log.entries() if c == EV_MULTI_SWITCHED] == [1, 0]


def test_the_bms_own_off_command_is_not_read_as_the_multi_switched_off():
    # Remote off: the BMS switches the Multi off itself; when the Multi then reports "off" that
    # is no front panel switch (no EV_MULTI_SWITCHED), and on again after remote on.
    rig = _running("m1_own_off")
    rig.remote_on = False
    rig.run(1000)
    rig.multi.switch_register = 0  # the Multi obeys
    rig.run(5000)
    rig.remote_on = True
    rig.run(500)
    rig.multi.switch_register = 0x30
    rig.run(5000)
    assert not rig.app.out.low_power and rig.outputs() == ON
    assert EV_MULTI_SWITCHED not in [c for _t, c, _r, _a in rig.app.log.entries()]
