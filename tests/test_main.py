"""main.py: the deploy hold parks the firmware; a crash floats the outputs, logs and resets; a
missing or damaged startup.py ends with the outputs floating."""

import os

from vmtest import fresh_root, raises

machine = __import__("machine")  # the fake of tests/fakes (typed as a plain module)

_HERE = __file__.rpartition("/")[0] or "."
ROOT = _HERE.rpartition("/")[0] or "."
OUTS = (13, 14, 9)


def _copy_boot_py(root):
    with open(ROOT + "/boot.py") as src, open(root + "boot.py", "w") as dst:
        dst.write(src.read())


def _outputs_live():
    machine.reset_fakes()
    for p in OUTS:
        machine.Pin(p, machine.Pin.OUT, value=1)
    machine.Pin(2, machine.Pin.OUT, value=1)


def test_deploy_hold_parks_the_firmware_once():
    import main
    import startup

    root = fresh_root("main-hold")
    with open(root + startup.HOLD_FILE, "w") as f:
        f.write("")
    _copy_boot_py(root)  # what floats the outputs: the image is not used before its check
    _outputs_live()
    main.main(root)  # returns: no app, no watchdog
    assert all(machine.pins[p].is_floating() for p in OUTS)
    assert machine.pins[2].value() == 0 and machine.wdt is None
    assert startup.HOLD_FILE not in os.listdir(root)
    assert not startup.held(root)


def test_an_exception_while_running_floats_outputs_logs_the_crash_and_resets():
    import main
    import startup
    from firmware.core.eventread import records

    root = fresh_root("main-crash")
    _outputs_live()
    real = startup.start, startup.build

    class Broken:
        async def run(self):
            raise OSError(5, "planted")

    startup.start = lambda root: ("a", None)  # the boot check passed (tests/test_update.py)
    startup.build = lambda root: Broken()
    try:
        raises(machine.ResetRequested, main.main, root)
    finally:
        startup.start, startup.build = real
    assert all(machine.pins[p].is_floating() for p in OUTS)
    assert [r[0] for r in records(root + "events.log")] == [main.EV_CRASH]


def test_a_crash_with_firmware_hw_broken_floats_the_outputs_through_boot_py():
    import main
    from firmware.hw import safe

    root = fresh_root("main-crash-nohw")
    _copy_boot_py(root)
    _outputs_live()
    real = safe.outputs_safe

    def broken():
        raise ImportError("planted: firmware/hw does not load")

    safe.outputs_safe = broken
    try:
        e = raises(OSError, main.crash, OSError(5, "planted"), root)
    finally:
        safe.outputs_safe = real
    assert e.args[0] == 5  # the original error, not a silent return
    assert all(machine.pins[p].is_floating() for p in OUTS)
    assert machine.pins[2].value() == 0


def test_on_a_board_the_start_code_is_let_go_and_a_crash_still_floats_logs_and_resets():
    """main.py on a board: once the app is built, startup.py and the start-only modules leave
    the heap (ON_BOARD); what runs afterwards (the app, a crash) still works."""
    import sys

    import firmware.core.settings  # noqa: F401  (loaded, to see them let go)
    import firmware.hw.board_esp32  # noqa: F401
    import firmware.hw.board_pico  # noqa: F401
    import firmware.hw.board_start  # noqa: F401
    import main
    import startup
    import vebus  # noqa: F401
    from firmware.core.eventread import records

    names = startup.START_MODULES + ("startup",)
    mods = {n: sys.modules[n] for n in names if n in sys.modules}
    top = __import__("__main__").__dict__
    top["rp2"] = sys  # as the rp2 port's _boot.py leaves it in main.py's globals

    root = fresh_root("main-let-go")
    _outputs_live()
    real = startup.start, startup.build

    class Broken:
        async def run(self):
            raise OSError(5, "planted")

    startup.start = lambda root: ("a", None)  # the boot check passed (tests/test_update.py)
    startup.build = lambda root: (real[1](root), Broken())[1]  # settings read, then a crash
    try:
        raises(machine.ResetRequested, main.main, root, True)
        kept = []
        for name in mods:
            parent, _, leaf = name.rpartition(".")
            pkg = sys.modules.get(parent)
            if name in sys.modules or (pkg is not None and leaf in pkg.__dict__):
                kept.append(name)
    finally:
        startup.start, startup.build = real
        for name, mod in mods.items():  # the other tests use the same module objects
            sys.modules[name] = mod
            parent, _, leaf = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], leaf, mod)
    assert sorted(mods) == sorted(startup.START_MODULES[:5] + ("startup",))  # rp2: the port's
    assert kept == [] and "rp2" not in top  # their code can leave the heap
    assert all(machine.pins[p].is_floating() for p in OUTS)
    assert [r[0] for r in records(root + "events.log")] == [main.EV_CRASH]


def _main_without_startup(root):
    """main.main with only root on the module path (a board's flash): startup.py as it is there."""
    import sys

    import main

    saved, mod = list(sys.path), sys.modules.pop("startup", None)
    sys.path[:] = [root.rstrip("/")]
    _outputs_live()
    try:
        main.main(root)  # returns: no app, no reset, the REPL free for a new deploy
    finally:
        sys.path[:] = saved
        sys.modules.pop("startup", None)
        if mod is not None:
            sys.modules["startup"] = mod


def test_a_missing_or_damaged_startup_py_leaves_the_outputs_floating():
    root = fresh_root("main-no-startup")
    _copy_boot_py(root)
    for damage in (None, "def start(:\n", "import firmware.not_there\n"):
        if damage is not None:
            with open(root + "startup.py", "w") as f:
                f.write(damage)
        _main_without_startup(root)
        assert all(machine.pins[p].is_floating() for p in OUTS), damage
        assert machine.pins[2].value() == 0 and machine.wdt is None, damage
