"""The Remote panel port through the whole app (virtual time, both VMs): a scripted Multi on the
"MultiPlus/Quattro" port (tests/fakes/multi.py), a GX, a dongle or a DMC on the "Remote panel"
port (tests/fakes/paneldev.py), the BMS between them.

The manual: 3.5 "Connect the GX device VE.Bus port to the Remote panel port on the BMS"; 3.6 a
Digital Multi Control or a VE.Bus Smart dongle there instead, and with a DMC only the DMC switches
the Multi on, off and charger-only (GX and dongle control disabled). The BMS decides what reaches
the Multi: protection first, then remote off, then the DMC, then the GX (vebus.md, "Two VE.Bus
ports"); at a low cell the Multi goes charger-only. The wire facts are vebus.md's (a node's frame
numbered N + 1 of the sync, the checksum rule, switch frames `3F s`, Winmon commands). How a real
V2 relays is not public (docs/protocol.md): the relay's own rules are inferred.
"""

from apprig import BTV, ON, READ, _codes, _each_second, _run, _switches, _system

from firmware.bms.panel import EV_PANEL_REWRITTEN
from firmware.core.codes import MODE_CHARGER_ONLY, TX_RELAY
from vebus import ADDR_MULTI, encode_data, peers
from vebus import catalogue as cat

machine = __import__("machine")  # the fake of tests/fakes (typed as a plain module)

_P = bytearray(24)


def test_the_gx_on_the_panel_port_hears_the_multi_and_the_bms_status_follows_the_loop():
    # 3.5: the GX on the Remote panel port sees the Multi and the BMS through it
    app, multi, gx = _system("panel_gx")
    s0 = multi.syncs
    _run(app, 1000)
    assert multi.syncs - s0 == 50 and gx.syncs >= multi.syncs - 2  # every sync relayed
    assert min(gx.kinds[k] for k in (0x55, cat.MSG_AC_INFO, cat.MSG_LED)) > 0  # the Multi's ...
    assert gx.statuses >= 3 and gx.status == (0, 255)  # ... and the BMS's: all allowed
    gx.send(bytes(_P[: peers.build_probe(_P)]))  # the GX's BMS probe, on the panel port
    _run(app, 200)
    assert gx.answers == [1146100]  # answered on the port it came from, as a V2
    assert not [g for g in multi.got if peers.answer_version(g[3], len(g[3])) >= 0]
    machine.Pin(BTV[0]).external = 0  # low cell: pre-alarm at once, loads off 30 s later
    _run(app, 1000)
    assert gx.status[0] == cat.STATUS_PRE_ALARM
    _run(app, 31000)
    assert gx.status[0] == cat.STATUS_LOW_CELL  # AllowToDischarge false, the pre-alarm over
    machine.Pin(BTV[1]).external = 0  # high cell too: AllowToCharge false, charging stopped
    _run(app, 1500)
    assert gx.status[0] == cat.STATUS_LOW_CELL | cat.STATUS_HIGH_CELL and gx.status[1] < 255
    assert multi.wrong_no == 0 and multi.max_delay <= 3  # the Multi side keeps its slot


def test_a_frame_failing_its_checksum_is_never_relayed_either_way():
    app, multi, gx = _system("panel_checksum")
    buf = bytearray(40)
    panel = app.panel
    assert panel is not None
    rejects = (app.role.decoder.counts[1], panel.decoder.counts[1])
    for marker in (0x61, 0x62):  # 0x61 goes out one bit wrong on either side, 0x62 intact
        n = encode_data(buf, ADDR_MULTI, 0x10, b"\x41" + bytes((marker,)) + bytes(11))
        if marker == 0x61:
            buf[5] ^= 0x01
            gx.flip = True
        machine.uarts[0].inject(bytes(buf[:n]))  # an LED frame on the Multi's side
        gx.send(READ[:3] + bytes((marker,)))  # a Winmon read on the panel side
        _run(app, 300)
    heard = [p[1] for _t, _n, p in gx.heard if p[0] == cat.MSG_LED and p[1] > 0x60]
    got = [g[3][3] for g in multi.got if g[3][:3] == READ[:3]]
    assert heard == [0x62] and got == [0x62]
    assert app.role.decoder.counts[1] == rejects[0] + 1  # each side's decoder dropped its one
    assert panel.decoder.counts[1] == rejects[1] + 1


def test_a_gx_on_during_a_low_cell_shutdown_never_reaches_the_multi_as_on():
    app, multi, gx = _system("panel_low_cell")
    machine.Pin(BTV[0]).external = 0
    _run(app, 32000)  # the load disconnect: the Multi charger-only (AC in)
    assert machine.pins[13].is_floating() and app.out.multi_mode == MODE_CHARGER_ONLY
    multi.got[:] = []
    relayed = app.role.sent[TX_RELAY]
    _each_second(app, gx, ON, 5, lambda t: multi.switch == cat.SWITCH_CHARGER_ONLY or 1 / 0)
    assert app.role.sent[TX_RELAY] - relayed >= 4  # the GX's frames went across ...
    assert set(_switches(multi)) == {cat.SWITCH_CHARGER_ONLY}  # ... rewritten: never "on"
    assert _codes(app, EV_PANEL_REWRITTEN) == [cat.SWITCH_ON << 8 | cat.SWITCH_CHARGER_ONLY]
    machine.Pin(BTV[0]).external = 1
    _run(app, 12000)  # the cells recover: loads on again (after min_hold_s), "on" passes
    multi.got[:] = []
    _each_second(app, gx, ON, 2)
    assert cat.SWITCH_ON in _switches(multi)
    assert len(_codes(app, EV_PANEL_REWRITTEN)) == 1  # said once, not once per repeat
