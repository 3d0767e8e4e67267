"""GX / VRM on, off and charger-only through the whole firmware (tests/faultrig.py, "bms" mode):
a controller's switch request holds until the controller changes it or stops repeating it.

The manual's rule (../shared/vebus.md "Two VE.Bus ports"; the VE.Bus BMS V2 manual's system
examples with a GX device): without a DMC, the GX and the VE.Bus Smart dongle switch the Multi
on, off and charger-only; the BMS decides which control reaches the Multi: protection first, then
remote off, then DMC, then GX. How often a GX repeats its request is not public
(catalogue.SWITCH_REPEAT_MS, inferred).
"""

from faultrig import Rig
from vmtest import fresh_root

from firmware.app_texts import EV_CONTROL_DROPPED, EV_CONTROL_REQUEST, EVENT_TEXTS
from firmware.bms.role import REQUEST_HOLD_MS
from firmware.core.codes import MODE_CHARGER_ONLY, MODE_OFF, MODE_ON
from vebus import catalogue as cat


def _codes(rig):
    return [code for _boot, code in rig.events()]


def test_a_gx_off_holds_while_repeated_and_ends_when_the_gx_falls_silent():
    rig = Rig(fresh_root("gx_hold"), mode="bms")
    rig.run(5000)
    assert rig.app.out.multi_mode == MODE_ON
    rig.multi.controller_switch(cat.SWITCH_SLEEP)  # the GX: "off"
    for _ in range(6):  # one minute, the GX repeating its request
        for _s in range(cat.SWITCH_REPEAT_MS // 1000):
            rig.run(1000)
            assert rig.app.out.multi_mode == MODE_OFF  # never back on between repeats
            assert rig.multi.last_command() == MODE_OFF
        rig.multi.controller_switch(cat.SWITCH_SLEEP)
    rig.run(REQUEST_HOLD_MS - 1000)  # the GX falls silent: the request still holds ...
    assert rig.app.out.multi_mode == MODE_OFF
    rig.run(2000)  # ... until three repeat periods passed without it
    assert rig.app.out.multi_mode == MODE_ON
    rig.run(1500)
    assert rig.multi.last_command() == MODE_ON
    assert EV_CONTROL_REQUEST in _codes(rig) and EV_CONTROL_DROPPED in _codes(rig)
    assert EVENT_TEXTS[EV_CONTROL_REQUEST] % cat.SWITCH_SLEEP == (
        "switch request from the GX / VRM or DMC: 4 (4 off, 5 charger-only, 6 inverter-only,"
        " 7 on); it holds until changed or no longer repeated"
    )
    assert EVENT_TEXTS[EV_CONTROL_DROPPED] % (REQUEST_HOLD_MS // 1000) == (
        "switch request of the GX / DMC dropped: not repeated for 30 s"
    )


def test_the_gx_changes_its_request_and_the_multi_follows_at_once():
    rig = Rig(fresh_root("gx_change"), mode="bms")
    rig.run(5000)
    rig.multi.controller_switch(cat.SWITCH_CHARGER_ONLY)
    rig.run(500)
    assert rig.app.out.multi_mode == MODE_CHARGER_ONLY
    rig.run(20000)  # no repeat needed within the hold
    assert rig.app.out.multi_mode == MODE_CHARGER_ONLY
    rig.multi.controller_switch(cat.SWITCH_ON)
    rig.run(500)
    assert rig.app.out.multi_mode == MODE_ON
    rig.run(1500)
    assert rig.multi.last_command() == MODE_ON
