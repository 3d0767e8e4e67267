"""The soak's fast-forward (tests/faultrig.py Rig.run_coarse, used by tools/bench/bench_soak.py):
ten minutes of one-sync-per-2-s rounds keep the firmware healthy and in step with the loop."""

from faultrig import Rig
from vmtest import fresh_root

from firmware.core.codes import MODE_OFF, MODE_ON

ON = {"load": "high", "charge": "high", "prealarm": "float"}


def test_coarse_rounds_keep_the_watchdog_fed_and_the_multi_present():
    rig = Rig(fresh_root("coarse"), mode="bms")
    rig.run(5000)
    rig.run_coarse(600_000)
    assert rig.boots == [1]  # no watchdog reset
    assert rig.outputs() == ON and rig.app.out.multi_mode == MODE_ON
    assert rig.app.role.multi_present
    rig.battery.loop_intact = False  # after a fast-forward, the real periods take over again
    rig.run(35000)
    assert rig.outputs()["load"] == "float"
    assert rig.multi.last_command() == MODE_OFF
    assert rig.multi.wrong_no == 0
