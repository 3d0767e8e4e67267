"""Fault injection: the whole firmware frozen (a step that never returns, a busy loop) while the
battery goes to low cell, through main.py's build() and tests/faultrig.py. The hang guard's
timer IRQ floats the outputs within a second, the watchdog resets the board, the outputs are
floating from the reset on, and low cell is acted on after it. Checks outputs, events and the
Multi command."""

from faultrig import Rig
from vmtest import fresh_root

from firmware.app_texts import EV_WATCHDOG_RESET
from firmware.core.codes import MODE_CHARGER_ONLY

machine = __import__("machine")
ON = {"load": "high", "charge": "high", "prealarm": "float"}


def test_frozen_firmware_is_reset_and_low_cell_is_acted_on_after():
    rig = Rig(fresh_root("frozen"), mode="bms")
    rig.run(5000)
    assert rig.outputs() == ON
    rig.frozen = True  # a step that never returns: nothing runs, nothing is fed
    rig.battery.prealarm = True
    rig.battery.low_cell = True
    # docs/hardware.md: a hang floats the outputs within 1 s (the supervisor's would need the
    # tasks running; a busy loop stops them all): here by the hang guard, before any reset.
    rig.run(1000)
    assert rig.boots == [1] and rig.all_floating()
    rig.run(rig.wdt_ms - 900)
    assert rig.boots == [1, machine.WDT_RESET]
    rig.frozen = False
    assert rig.all_floating()
    rig.run(40000)
    assert rig.outputs()["load"] == "float"  # low cell at boot: the loads never come back
    assert rig.app.out.multi_mode == MODE_CHARGER_ONLY
    assert rig.multi.last_command() == MODE_CHARGER_ONLY
    rig.run(1500)
    assert (2, EV_WATCHDOG_RESET) in rig.events()
