"""Fault injection on the settings file, through main.py's build() and the whole firmware
(tests/faultrig.py): corrupt, missing, out of range. The board boots on the defaults (which never
transmit on VE.Bus), says why, and protects. Checks outputs, events and the Multi command."""

import os

from faultrig import Rig
from vmtest import fresh_root

from firmware.app_texts import EV_SETTINGS, EV_SETTINGS_MISSING
from firmware.core import settings as st
from firmware.core.codes import EV_BOOT, EV_FAULT_LATCHED, MODE_CHARGER_ONLY, MODE_OFF

ON = {"load": "high", "charge": "high", "prealarm": "float"}
ALL_OFF = {"load": "float", "charge": "float", "prealarm": "float"}


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def test_corrupt_settings_file_boots_on_defaults_and_never_transmits():
    rig = Rig(fresh_root("settings_corrupt"), mode="bms")
    rig.run(3000)
    assert rig.multi.frames_from_bms > 0  # "bms" from the file: it talks
    _write(rig.settings_path(), '{"vebus_mode": "bms", "startup_ok')  # torn JSON
    rig.boot()
    assert rig.all_floating()
    assert rig.settings.vebus_mode == "listen"  # the default: no inferred frame on the bus
    assert rig.settings_errors and "not valid JSON" in rig.settings_errors[0]
    sent = rig.multi.frames_from_bms
    rig.run(10000)
    assert rig.multi.frames_from_bms == sent
    assert rig.outputs() == ON  # the loop is intact: the defaults protect as the manual says
    rig.battery.loop_intact = False
    rig.run(33000)
    assert rig.outputs() == ALL_OFF
    assert rig.app.out.multi_mode == MODE_OFF
    rig.run(1500)
    boots = [b for b, code in rig.events() if code == EV_BOOT]
    assert len(boots) == 2
    assert (boots[1], EV_FAULT_LATCHED) in rig.events()
    assert (boots[1], EV_SETTINGS) in rig.events()  # the log says why the defaults run


def test_settings_file_that_is_not_utf8_boots_on_defaults_and_runs():
    """One byte that is not UTF-8 (a flash bit flip, a copy gone wrong): the defaults, the event,
    the board protects (before, MicroPython raised UnicodeError in build(): a reset every boot)."""
    rig = Rig(fresh_root("settings_not_utf8"), mode="bms", boot=False)
    with open(rig.settings_path(), "wb") as f:
        f.write(b'{"vebus_mode": "bms", "min_hold_s": 20, "board": "pi\xffco"}')
    rig.boot()
    assert rig.crashes == 0
    assert rig.settings.as_dict() == st.Settings().as_dict()  # every key: a torn file is no guide
    assert len(rig.settings_errors) == 1 and "not UTF-8" in rig.settings_errors[0]
    assert rig.all_floating()
    rig.run(5000)
    assert rig.outputs() == ON
    assert rig.multi.frames_from_bms == 0  # the default "listen": nothing inferred on the bus
    rig.battery.loop_intact = False
    rig.run(33000)
    assert rig.outputs() == ALL_OFF
    rig.run(1500)
    assert EV_SETTINGS in [code for _boot, code in rig.events()]


def test_settings_for_another_board_or_missing_inputs_are_refused_on_the_board():
    """A Pico (its own profile: 6 BTV inputs) refuses a file written for an ESP32 and an input it
    does not have, says so in the log, and protects on its own profile."""
    rig = Rig(fresh_root("settings_board"), boot=False)
    _write(rig.settings_path(), '{"board": "esp32", "btv_prealarm_input": 7, "min_hold_s": 20}')
    rig.boot()
    assert rig.settings_errors == [
        "board: this board runs the pico profile, not esp32",
        "btv_prealarm_input: 7 is out of range -1..5",
    ]
    assert rig.settings.board == "pico" and rig.board.name == "pico"
    assert rig.settings.btv_prealarm_input == 2 and rig.settings.min_hold_s == 20
    rig.run(5000)
    assert rig.outputs() == ON
    rig.run(1500)
    assert EV_SETTINGS in [code for _boot, code in rig.events()]


def test_missing_settings_file_boots_on_defaults():
    rig = Rig(fresh_root("settings_missing"), mode="bms", boot=False)
    os.remove(rig.settings_path())
    rig.boot()
    assert rig.settings_errors == []
    assert rig.settings.as_dict() == st.Settings().as_dict()
    assert rig.all_floating()
    rig.run(5000)
    assert rig.outputs() == ON
    assert rig.multi.frames_from_bms == 0
    rig.run(1500)
    assert EV_SETTINGS_MISSING in [code for _boot, code in rig.events()]


def test_out_of_range_settings_are_refused_one_by_one():
    rig = Rig(fresh_root("settings_range"), mode="bms", boot=False)
    _write(
        rig.settings_path(),
        '{"vebus_mode": "bms", "prealarm_to_disconnect_s": 5, "startup_ok_ms": "fast",'
        ' "board": "arduino"}',
    )
    rig.boot()
    assert len(rig.settings_errors) == 3
    assert rig.settings.vebus_mode == "bms"  # the valid key is kept
    assert rig.settings.prealarm_to_disconnect_s == 30  # the manual's minimum stays
    rig.run(5000)
    rig.battery.prealarm = True
    rig.battery.low_cell = True
    rig.run(28000)
    assert rig.outputs()["load"] == "high"  # not after 5 s: after 30
    rig.run(4000)
    assert rig.outputs()["load"] == "float"
    assert rig.multi.last_command() == MODE_CHARGER_ONLY
    assert EV_SETTINGS in [code for _boot, code in rig.events()]
