"""Fault injection on the tasks, through main.py's build() and the whole firmware
(tests/faultrig.py): one task hung until the watchdog resets the board. Outputs stay safe
through it and the latched fault comes back. Checks outputs, events and the Multi command.
(Everything frozen: test_fault_frozen.py, its own VM process for the heap's sake.)"""

from faultrig import Rig
from vmtest import fresh_root

from firmware import app as fw_app
from firmware.app_texts import EV_TASK_STALE, EV_WATCHDOG_RESET
from firmware.core.codes import EV_FAULT_CLEARED, EV_FAULT_LATCHED, MODE_ON, R_OPEN_LOOP

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
    rig.hung = fw_app.TASK_NAMES.index("protect")  # the protection task stops (never returns)
    waited = 0
    while len(rig.boots) < 2 and waited < rig.wdt_ms + 1500:
        rig.run(10)
        waited += 10
    assert rig.boots == [1, machine.WDT_RESET]
    rig.hung = -1  # the reset started it again
    assert rig.all_floating()  # outputs floating from the first instant after the reset
    rig.run(20)
    assert rig.app.out.latched and rig.app.out.latch_reason & R_OPEN_LOOP  # restored
    assert rig.all_floating()
    rig.run(rig.settings.startup_ok_ms + 12000)
    assert rig.outputs() == ON and not rig.app.out.latched
    assert rig.multi.last_command() == MODE_ON
    rig.run(1500)
    events = rig.events()
    assert (1, EV_TASK_STALE) in events
    assert (2, EV_WATCHDOG_RESET) in events
    assert events.index((1, EV_FAULT_LATCHED)) < events.index((2, EV_FAULT_CLEARED))


def test_any_stopped_task_floats_the_outputs_within_one_second():
    # docs/hardware.md: floating = off. Each task stops right after a check-in; the supervisor
    # floats the outputs once the task's gap (its longest period + STALL_MS) has passed, the
    # hang guard if the supervisor itself stopped. The bound: 1000 ms for any task.
    took = []
    for i in range(len(fw_app.TASK_NAMES)):
        rig = Rig(fresh_root("stop%d" % i), mode="bms")
        rig.run(5000)
        assert rig.outputs() == ON
        rig.hung = i
        ms = 0
        while not rig.all_floating() and ms < 3000:
            rig.run(10)
            ms += 10
        took.append(ms)
        assert ms <= 1000, (fw_app.TASK_NAMES[i], ms)
        assert rig.boots == [1]  # floated by the supervisor or the guard, not by the reset
    # each task's own gap decides: not every stop is caught by the same tick
    assert len(set(took)) > 1, took


def test_no_task_is_reported_stopped_in_normal_running_or_low_power():
    # The periods of normal running and of every low-power state fit the check-in gaps: the
    # watchdog is fed throughout and no EV_TASK_STALE is logged (the longest gaps measured on
    # the emulated Pico, with real step times and flash writes, are in firmware/app.py).
    rig = Rig(fresh_root("nostale"), mode="bms")
    rig.run(5000)
    assert rig.outputs() == ON
    rig.remote_on = False  # remote off: every output floating, the BMS in low power
    rig.run(3000)
    assert rig.all_floating() and rig.app.out.low_power
    rig.multi.present = False  # the Multi off as well: the light-sleep periods
    sleeps = machine.lightsleep_calls
    rig.run(3000)
    assert machine.lightsleep_calls > sleeps
    rig.multi.present = True
    rig.remote_on = True
    rig.run(3000)
    assert not rig.app.halted and rig.boots == [1]
    assert EV_TASK_STALE not in [c for _, c in rig.events()]
