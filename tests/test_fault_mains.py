"""The mains detector through the whole firmware (tests/faultrig.py), with the default settings on
the board of docs/hardware.md section 5 "Mains detector": the input is pulled up and the
detector's optocoupler pulls it low while AC is present.

The manual's rules (../shared/btv.md "Mains detector", "Outputs"; ../shared/vebus.md "What the
seed manual fixes about the Multi's side"): "Low cell: Multi set to charger-only (charges if AC
present, else off)"; the mains detector "tells the BMS AC has returned; after a low-cell shutdown
the BMS restarts the Multi so it can recharge"; supply current "2 mA after a low-cell shutdown"
(the BMS in low power).
"""

from faultrig import Rig
from vmtest import fresh_root

from firmware.core import texts  # noqa: F401  (ev.text's table, loaded before boards fill the heap)
from firmware.core.codes import EV_LOW_POWER, EV_MAINS_RESTART, MODE_CHARGER_ONLY, MODE_OFF


def _low_cell_shutdown(name, fitted):
    rig = Rig(fresh_root(name), mode="bms")
    rig.mains_fitted = fitted
    rig.mains = False  # no AC at the Multi's input
    rig.multi.ac_in = False  # and the Multi reports none either
    rig.run(5000)
    rig.battery.low_cell = True
    rig.run(32000)  # pre-alarm, 30 s, load disconnect
    assert rig.outputs()["load"] == "float"
    return rig


def test_no_detector_fitted_low_cell_shutdown_without_ac_goes_to_low_power():
    rig = _low_cell_shutdown("mains_none", fitted=False)
    rig.mains = True  # AC comes back, but no detector tells the BMS
    rig.run(2000)
    assert rig.app.out.multi_mode == MODE_OFF  # "else off": no AC seen
    assert rig.multi.last_command() == MODE_OFF
    assert rig.app.out.low_power  # "2 mA after a low-cell shutdown"
    assert not rig.app.mains.present(rig.clock.t)
    rig.run(1500)
    codes = [code for _b, code in rig.events()]
    assert EV_LOW_POWER in codes and EV_MAINS_RESTART not in codes


def test_detector_as_documented_ac_back_restarts_the_multi_in_charger_only():
    rig = _low_cell_shutdown("mains_fitted", fitted=True)
    assert rig.app.out.multi_mode == MODE_OFF and rig.app.out.low_power
    rig.mains = True  # AC back: the optocoupler pulls the input low
    rig.run(500)
    assert rig.app.out.multi_mode == MODE_CHARGER_ONLY  # "restarts the Multi so it can recharge"
    rig.run(1500)
    assert rig.multi.last_command() == MODE_CHARGER_ONLY
    assert not rig.app.out.low_power
    assert EV_MAINS_RESTART in [code for _b, code in rig.events()]
    assert any("mains detector: AC back" in x for x in rig.app.log.texts())
    rig.mains = False  # AC gone again: charger-only without AC is off
    rig.run(1500)
    assert rig.app.out.multi_mode == MODE_OFF and rig.app.out.low_power
