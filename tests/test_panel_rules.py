"""Control from the Remote panel port through the whole app (tests/test_panel.py says how):
the manual's order, protection first, then remote off, then the Digital Multi Control, then the
GX or the VE.Bus Smart dongle (3.6: with a DMC only the DMC switches the Multi on, off and
charger-only; remote off: the Multi held in low power).
"""

from apprig import CHARGER_ONLY, OFF, ON, WRITE, _codes, _each_second, _run, _switches, _system

from firmware.bms.panel import EV_PANEL_DMC, EV_PANEL_REMOTE_OFF
from firmware.core.codes import MODE_CHARGER_ONLY, MODE_OFF, TX_RELAY
from vebus import catalogue as cat

machine = __import__("machine")  # the fake of tests/fakes (typed as a plain module)


def test_with_a_dmc_present_only_the_dmc_switches_the_multi():
    # 3.6: with a DMC, GX and Smart dongle control is disabled
    app, multi, dev = _system("panel_dmc", dmc_present=True)
    multi.got[:] = []
    for _ in range(3):
        dev.send(WRITE)  # a GX or dongle writing a setting: dropped
        dev.send(CHARGER_ONLY)  # the DMC: passes
        _run(app, 1000)
    assert not [g for g in multi.got if g[3][0] == 0 and g[3][2] == 0x37]
    assert multi.switch == cat.SWITCH_CHARGER_ONLY and app.out.multi_mode == MODE_CHARGER_ONLY
    assert _codes(app, EV_PANEL_DMC) == [0]  # once, for the write (0: a setting write)


def test_with_remote_off_nothing_from_the_panel_switches_the_multi_on():
    app, multi, gx = _system("panel_remote_off")
    machine.Pin(11).external = 0  # remote off: the Multi held in low power
    _run(app, 1000)
    assert app.out.multi_mode == MODE_OFF
    multi.got[:] = []
    for req in (ON, CHARGER_ONLY, WRITE):
        _each_second(app, gx, req, 3, lambda t: multi.switch == cat.SWITCH_SLEEP or 1 / 0)
    assert set(_switches(multi)) == {cat.SWITCH_SLEEP}
    assert not [g for g in multi.got if g[3][0] == 0 and g[3][2] == 0x37]
    assert _codes(app, EV_PANEL_REMOTE_OFF) == [7, 5, 0]  # each kind once
    relayed = app.role.sent[TX_RELAY]
    _each_second(app, gx, OFF, 3)  # "off" asks for what already holds: it passes
    assert app.role.sent[TX_RELAY] > relayed and len(_codes(app, EV_PANEL_REMOTE_OFF)) == 3
