"""Numbers a board module copies from another as a private constant agree with their source.

A public `X = const(n)` stays a global on the board (a dict entry and an interned name in RAM);
a private `_X = const(n)` is folded into the bytecode by mpy-cross and leaves nothing. So a board
module that needs another's number (firmware/core/codes.py's, a protocol number of
vebus.catalogue, ...) keeps a private copy `_X`; the public `X` of the module that owns it stays
the one name tests and host tools read. This test is what makes the copy safe: every private
integer `_X` of a board module whose name, without the underscore, is a public integer of
another board module must equal it (on CPython a const is its value, so both are readable).
"""

import importlib
import re

from tools.board_files import ROOT, board_files

# modules that import the ESP32's `machine` API or run only as the board's top level
SKIP = ("boot", "main", "firmware.hw.board_esp32")


def _modules():
    from tools.deploy import module_name

    out = {}
    for rel in board_files(ROOT):
        name = module_name(rel)
        if name not in SKIP:
            out[name] = (importlib.import_module(name), (ROOT / rel).read_text())
    return out


def copies(mods):
    """[(module, name, copy, owner, value)] for each private const that copies a public one."""
    public = {}
    for name, (mod, text) in mods.items():
        for x in re.findall(r"^([A-Z][A-Z0-9_]*) = const\(", text, re.M):
            public.setdefault(x, []).append((name, getattr(mod, x)))
    out = []
    for name, (mod, text) in mods.items():
        for x in re.findall(r"^_([A-Z][A-Z0-9_]*) = const\(", text, re.M):
            for owner, value in public.get(x, ()):
                if owner != name:
                    out.append((name, x, getattr(mod, "_" + x), owner, value))
    return out


def test_every_private_copy_of_a_public_number_equals_it():
    found = copies(_modules())
    wrong = ["%s._%s = %r, %s.%s = %r" % (m, x, v, o, x, w) for m, x, v, o, w in found if v != w]
    assert not wrong, wrong
    # the copies of firmware/core/codes.py's numbers are among those checked
    owners = {(c[0], c[1]) for c in found if c[3] == "firmware.core.codes"}
    assert ("firmware.core.protection", "ST_LOOP_FAULT") in owners
    assert ("firmware.core.btv_wire", "R_LOW_CELL") in owners
    assert len(found) >= 40


def test_a_copy_that_differs_is_named():
    fake = type("M", (), {"_R_LOW_CELL": 2, "R_LOW_CELL": 1})
    mods = {
        "a": (fake, "R_LOW_CELL = const(1)\n"),
        "b": (fake, "_R_LOW_CELL = const(2)\n"),
    }
    assert copies(mods) == [("b", "R_LOW_CELL", 2, "a", 1)]
