"""The manual's rules a user sees, through the whole firmware (tests/faultrig.py: App on the fake
machine, in virtual time, a scripted Multi on VE.Bus). Each test names the manual's section it
was written from (../shared/btv.md quotes them; docs/manual-readings.md gives the readings where
the manual is ambiguous). Runs on CPython and on the MicroPython VM."""

from faultrig import Rig
from vmtest import fresh_root

from firmware.core import events as ev
from firmware.core import texts  # noqa: F401  (ev.text's words, loaded while the VM heap is empty)
from firmware.core.codes import (
    MODE_ON,
    R_CHARGE_BLOCK,
    R_HIGH_CELL,
    R_LOW_TEMP,
)
from vebus import catalogue as cat

ON = {"load": "high", "charge": "high", "prealarm": "float"}
CHARGE_OFF = {"load": "high", "charge": "float", "prealarm": "float"}


def _running(name, **kw):
    rig = Rig(fresh_root(name), mode="bms", **kw)
    rig.run(5000)
    assert rig.outputs() == ON
    return rig


def _reasons(rig, code):
    """Reason bits of every `code` event in the RAM log."""
    return [r for _t, c, r, _a in rig.app.log.entries() if c == code]


def _status(rig):
    """(allow charge, charge rate 0..255) of the last status frame the Multi heard."""
    flags, rate = rig.multi.status
    return not flags & cat.STATUS_HIGH_CELL, rate


def test_3_3_low_temperature_stops_charging_one_charge_line():
    # 3.3: "In the event of high cell voltage or low temperature, battery charging must be
    # stopped." One charge line (the default wiring) cannot tell which: charging stops. The
    # charge disconnect, the Multi's charge rate and the allow-charge flag (the GX's DVCC
    # limit follows it) agree; the Multi keeps its mode (AC passes through to the loads).
    rig = _running("m33_one_line")
    rig.battery.high_cell = True  # the charge line says "not allowed": cold or a high cell
    rig.run(1500)
    assert rig.outputs() == CHARGE_OFF
    assert rig.app.out.charge_rate == 0 and rig.app.out.multi_mode == MODE_ON
    assert _status(rig) == (False, 0)
    assert _reasons(rig, ev.EV_CHARGE_OFF) == [R_CHARGE_BLOCK]
    assert ev.text(ev.EV_CHARGE_OFF, R_CHARGE_BLOCK, 0) == (
        "charge disconnect: high cell or low temperature"
    )


def test_3_3_low_temperature_line_stops_charging_7_q4_high_cell_line_reduces():
    # 3.3 for low temperature (its own line wired): charging stopped. Manual 1 and 7, Q4 for a
    # high cell the BMS tells apart (its own line wired): a reduced charge current so the cells
    # can balance, the chargers on the charge disconnect off.
    rig = _running("m33_lines", settings={"btv_low_temp_input": 3, "btv_high_cell_input": 4})
    bat = rig.battery
    bat.high_cell = True
    bat.down = {3}  # low temperature
    rig.run(1500)
    assert rig.outputs() == CHARGE_OFF and _status(rig) == (False, 0)
    assert _reasons(rig, ev.EV_CHARGE_OFF) == [R_LOW_TEMP]
    bat.down = {4}  # warm again, but a high cell
    rig.run(1500)
    assert rig.outputs() == CHARGE_OFF
    assert rig.app.out.charge_rate == rig.settings.reduced_charge_rate_pct
    assert _status(rig) == (False, rig.settings.reduced_charge_rate_pct * 255 // 100)
    assert rig.app.out.reasons & R_HIGH_CELL and rig.app.out.multi_mode == MODE_ON


def _led(rig, name):
    """Is the LED `name` (board profile: status, cell_ok, cell_high) lit?"""
    machine = __import__("machine")
    for led, pin, lit in rig.board.profile["leds"]:
        if led == name:
            p = machine.pins[pin]
            return p.mode() == machine.Pin.OUT and p.value() == lit
    raise KeyError(name)


def test_1_cell_led_dark_as_soon_as_low_cell_is_signalled():
    # 1, LED indicators, cell > 2.8 V: "Lights when the Load disconnect output is high and the
    # battery cell voltages are above 2.8 V." Dark at the low-cell signal (debounce and one LED
    # period), while the load disconnect stays high for the pre-alarm's 30 s.
    rig = _running("m1_cell_led")
    assert _led(rig, "cell_ok")
    rig.battery.low_cell = True
    rig.run(200)
    assert not _led(rig, "cell_ok") and rig.outputs()["load"] == "high"
    rig.run(29000)
    assert not _led(rig, "cell_ok") and rig.outputs()["load"] == "high"
    rig.run(2000)
    assert rig.outputs()["load"] == "float" and not _led(rig, "cell_ok")
    rig.battery.low_cell = False
    rig.run(rig.settings.min_hold_s * 1000 + 1000)
    assert rig.outputs()["load"] == "high" and _led(rig, "cell_ok")


def _flashes(rig, ms):
    """Rising edges of the status LED over the next `ms` (read every 10 ms, its task's 50 ms
    period is longer) and the gaps between them (ms)."""
    rises = []
    was = _led(rig, "status")
    for k in range(ms // 10):
        rig.run(10)
        lit = _led(rig, "status")
        if lit and not was:
            rises.append(k * 10)
        was = lit
    return [rises[i + 1] - rises[i] for i in range(len(rises) - 1)], len(rises)


def test_1_status_led_every_10_s_with_the_multi_on_dark_in_low_power():
    # 1, LED indicators, status: a short flash once every 10 s while the Multi is on and BMS info
    # frames are sent; "the BMS goes into low power mode" (remote off, ...) with the LED dark.
    rig = _running("m1_status")
    gaps, n = _flashes(rig, 30000)
    assert n == 3 and all(9900 <= g <= 10100 for g in gaps), gaps
    assert rig.multi.kinds.get(cat.MSG_INFO, 0) > 20  # info frames went out meanwhile
    rig.remote_on = False
    rig.run(1000)
    assert rig.app.out.low_power
    assert _flashes(rig, 20000)[1] == 0
    rig.remote_on = True
    rig.run(1000)
    rig.multi.present = False  # no Multi: no info frames go out, no flash
    rig.run(2000)
    assert _flashes(rig, 20000)[1] == 0


def test_listen_mode_status_led_double_flash():
    # Listen mode sends nothing, so it must not show the manual's "info frames sent" flash: two
    # short flashes 0.3 s apart every 10 s instead (docs/manual-readings.md, hardware.md 6).
    rig = Rig(fresh_root("m1_listen"), mode="listen")
    rig.run(5000)
    gaps, n = _flashes(rig, 20000)
    assert n == 4 and [g < 500 for g in gaps] == [True, False, True], gaps
    assert not rig.multi.kinds  # nothing was sent


# remote_mode -> the wirings (docs/hardware.md, remote on/off) that switch the BMS on. The
# documented front end reads a bridge and "H high" alike (L not low, H high).
