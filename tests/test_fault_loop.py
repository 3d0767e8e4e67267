"""Fault injection on the BTV loop, through the whole firmware (tests/faultrig.py): the loop opens
mid-run; an input stuck high while the battery goes to low cell. Each test checks the outputs,
the event log on flash and the command the Multi receives on VE.Bus ("bms" mode)."""

from faultrig import Rig
from vmtest import fresh_root

from firmware.core.codes import (
    EV_CHARGE_OFF,
    EV_FAULT_CLEARED,
    EV_FAULT_LATCHED,
    EV_LOAD_OFF,
    EV_PREALARM_ON,
    MODE_CHARGER_ONLY,
    MODE_INVERTER_ONLY,
    MODE_OFF,
    MODE_ON,
)

ON = {"load": "high", "charge": "high", "prealarm": "float"}
ALL_OFF = {"load": "float", "charge": "float", "prealarm": "float"}
NOT_CHARGING = (MODE_INVERTER_ONLY, MODE_OFF)


def _codes(rig):
    return [code for _boot, code in rig.events()]


def _running(name, **kw):
    rig = Rig(fresh_root(name), mode="bms", **kw)
    rig.run(5000)
    assert rig.outputs() == ON
    assert rig.app.out.multi_mode == MODE_ON
    return rig


def test_loop_opens_mid_run():
    rig = _running("loop_open")
    rig.battery.loop_intact = False  # a BTV cable pulled out
    rig.run(1000)
    # at once: chargers off, pre-alarm on, the Multi told to stop charging
    assert rig.outputs() == {"load": "high", "charge": "float", "prealarm": "high"}
    assert rig.app.out.multi_mode in NOT_CHARGING
    assert rig.multi.last_command() in NOT_CHARGING
    rig.run(27000)  # 28 s after the pre-alarm: loads still on
    assert rig.outputs()["load"] == "high"
    rig.run(4000)  # 32 s: load disconnect, pre-alarm off again, the Multi off
    assert rig.outputs() == ALL_OFF
    assert rig.app.out.multi_mode == MODE_OFF
    assert rig.multi.last_command() == MODE_OFF
    assert rig.app.out.latched
    rig.run(1500)  # flushed to flash
    codes = _codes(rig)
    for code in (EV_FAULT_LATCHED, EV_CHARGE_OFF, EV_PREALARM_ON, EV_LOAD_OFF):
        assert code in codes, code
    assert codes.index(EV_PREALARM_ON) < codes.index(EV_LOAD_OFF)
    # the cable goes back: nothing switches on before the loop read OK for startup_ok_ms
    rig.battery.loop_intact = True
    rig.run(rig.settings.startup_ok_ms // 2)
    assert rig.outputs() == ALL_OFF
    rig.run(rig.settings.startup_ok_ms + 12000)  # + min_hold_s of the outputs
    assert rig.outputs() == ON
    assert rig.app.out.multi_mode == MODE_ON
    assert rig.multi.last_command() == MODE_ON
    assert not rig.app.out.latched
    rig.run(1500)
    assert EV_FAULT_CLEARED in _codes(rig)
    assert rig.boots == [1] and rig.crashes == 0


SELFTEST = {"btv_selftest": True}


def test_stuck_input_is_caught_by_the_pulsed_self_test():
    rig = _running("stuck_selftest", settings=SELFTEST)
    assert rig.app.btv.tests_passed > 0
    rig.battery.stuck[0] = 1  # the discharge-allowed input shorted high
    rig.battery.low_cell = True  # ... while the battery goes to low cell
    rig.run(5000)
    # the self-test pulse cannot pull the stuck input down: a loop fault, as if the loop opened
    assert rig.app.btv.tests_failed >= 2
    assert rig.outputs()["charge"] == "float"
    assert rig.app.out.multi_mode in NOT_CHARGING
    assert rig.multi.last_command() in NOT_CHARGING
    rig.run(31000)
    assert rig.outputs() == ALL_OFF
    assert rig.app.out.multi_mode == MODE_OFF
    assert rig.multi.last_command() == MODE_OFF
    rig.run(1500)
    codes = _codes(rig)
    assert EV_FAULT_LATCHED in codes and EV_LOAD_OFF in codes


def test_without_the_self_test_a_stuck_input_hides_low_cell():
    # The reason the self-test exists: the same fault with it off goes unnoticed.
    rig = _running("stuck_no_selftest")
    rig.battery.stuck[0] = 1
    rig.battery.low_cell = True
    rig.run(40000)
    assert rig.outputs() == ON
    assert rig.app.out.multi_mode == MODE_ON


def test_low_cell_goes_charger_only_after_the_prealarm_delay():
    rig = _running("low_cell")
    rig.battery.prealarm = True
    rig.run(1000)
    assert rig.outputs() == {"load": "high", "charge": "high", "prealarm": "high"}
    rig.battery.low_cell = True
    rig.run(29000)
    assert rig.outputs()["load"] == "high"
    rig.run(3000)
    assert rig.outputs() == {"load": "float", "charge": "high", "prealarm": "float"}
    assert rig.app.out.multi_mode == MODE_CHARGER_ONLY  # AC in: charge, do not invert
    assert rig.multi.last_command() == MODE_CHARGER_ONLY
    rig.run(1500)
    codes = _codes(rig)
    assert codes.index(EV_PREALARM_ON) < codes.index(EV_LOAD_OFF)
