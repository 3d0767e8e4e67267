"""Every board module imports on this VM: a CPython-only import in firmware/ or lib/ fails here.

boot.py and main.py are left out (importing them starts the firmware); firmware/hw imports the fake
`machine` of tests/fakes.
"""

import os
import sys

_HERE = __file__.rpartition("/")[0] or "."
ROOT = _HERE.rpartition("/")[0] or "."


def _modules(rel):
    """Dotted names of the .py modules under ROOT/rel, depth first."""
    out = []
    base = ROOT + "/" + rel
    for name in sorted(os.listdir(base)):
        path = base + "/" + name
        if name == "__pycache__" or name.startswith("."):
            continue
        if name.endswith(".py"):
            if name != "manifest.py":
                mod = rel.replace("/", ".")
                out.append(mod if name == "__init__.py" else mod + "." + name[:-3])
        elif os.stat(path)[0] & 0o170000 == 0o040000:  # a directory
            out += _modules(rel + "/" + name)
    return out


def board_modules():
    mods = _modules("firmware")
    if "lib" in os.listdir(ROOT):
        for name in sorted(os.listdir(ROOT + "/lib")):
            if not name.startswith(".") and name != "__pycache__":
                mods += [m.partition(".")[2] for m in _modules("lib/" + name)]
    return mods


def test_every_board_module_imports():
    mods = board_modules()
    assert [m for m in mods if m.startswith("firmware.")], "no board module found"
    failed = []
    for name in mods:
        try:
            __import__(name)
        except Exception as e:
            failed.append("%s: %s: %s" % (name, type(e).__name__, e))
    assert not failed, "board modules that do not import on %s:\n%s" % (
        sys.implementation.name,
        "\n".join(failed),
    )
