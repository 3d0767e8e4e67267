"""Fault injection on the tasks, through main.py's build() and the whole firmware
(tests/faultrig.py): one task hung until the watchdog resets the board. Outputs stay safe
through it and the latched fault comes back. Checks outputs, events and the Multi command.
(Everything frozen: test_fault_frozen.py, its own VM process for the heap's sake.)"""

from faultrig import Rig
from vmtest import fresh_root

from firmware import app as fw_app
from firmware.core import events as ev
from firmware.core.codes import MODE_ON, R_OPEN_LOOP

machine = __import__("machine")
ON = {"load": "high", "charge": "high", "prealarm": "float"}
ALL_OFF = {"load": "float", "charge": "float", "prealarm": "float"}


def test_hung_task_watchdog_reset_restores_the_latched_fault():
    rig = Rig(fresh_root("hung"), mode="bms")
    rig.run(5000)
    rig.battery.loop_intact = False
    rig.run(35000)
    assert rig.outputs() == ALL_OFF and rig.latched()
    rig.battery.loop_intact = True
    rig.run(500)  # the loop reads OK again, but not yet for startup_ok_ms: still latched
    rig.hung = fw_app.T_PROTECT  # the protection task stops (an await that never returns)
    rig.run(rig.wdt_ms + 1500)
    assert rig.boots == [1, machine.WDT_RESET]
    rig.hung = -1
    assert rig.all_floating()  # outputs floating from the first instant after the reset
    rig.run(20)
    assert rig.app.out.latched and rig.app.out.latch_reason & R_OPEN_LOOP  # restored
    assert rig.all_floating()
    rig.run(rig.settings.startup_ok_ms + 12000)
    assert rig.outputs() == ON and not rig.app.out.latched
    assert rig.multi.last_command() == MODE_ON
    rig.run(1500)
    events = rig.events()
    assert (1, fw_app.EV_TASK_STALE) in events
    assert (2, fw_app.EV_WATCHDOG_RESET) in events
    assert events.index((1, ev.EV_FAULT_LATCHED)) < events.index((2, ev.EV_FAULT_CLEARED))
