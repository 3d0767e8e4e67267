"""boot.py floats the three outputs and drops DE first, with the same pins as the profiles."""

from firmware.hw import board_esp32, board_pico, safe

machine = __import__("machine")  # the fake of tests/fakes (typed as a plain module)

_HERE = __file__.rpartition("/")[0] or "."
ROOT = _HERE.rpartition("/")[0] or "."


def _boot_source():
    with open(ROOT + "/boot.py") as f:
        return f.read()


def test_boot_floats_outputs_and_drops_de_before_anything_else():
    machine.reset_fakes()
    for pin in (13, 14, 9):  # outputs left driven high with a pull, as after a crash
        machine.Pin(pin, machine.Pin.OUT, machine.Pin.PULL_DOWN, value=1)
    machine.Pin(2, machine.Pin.OUT, value=1)
    exec(_boot_source(), {"__name__": "boot"})
    assert all(machine.pins[p].is_floating() for p in (13, 14, 9))
    assert machine.pins[2].value() == 0 and machine.pins[3].value() == 0


def test_boot_first_statements_touch_only_pins():
    lines = [ln for ln in _boot_source().split("\n") if ln and not ln.startswith("#")]
    assert lines[0].startswith("from machine import Pin")
    assert lines[1] == "import sys"
    assert not [ln for ln in lines if ln.startswith(("import", "from")) and "firmware" in ln]


def test_pico_outputs_avoid_the_pin_the_usb_enumeration_fix_borrows():
    # docs/hardware.md section 8: pico-sdk's RP2040-E5 fix drives GPIO15 at each USB enumeration.
    outs = tuple(o[0] for o in board_pico.PROFILE["outputs"])
    des = tuple(b[4] for b in board_pico.PROFILE["bus"])
    assert 15 not in outs and 15 not in des and 15 not in safe.pins("rp2")[0]


def test_boot_pins_equal_the_profiles_and_the_crash_path():
    src = _boot_source()
    for mod in (board_pico, board_esp32):
        p = mod.PROFILE
        outs = tuple(o[0] for o in p["outputs"])
        des = tuple(b[4] for b in p["bus"])
        assert safe.pins(p["platform"]) == (outs, des)
        assert repr(outs) in src and repr(des) in src
