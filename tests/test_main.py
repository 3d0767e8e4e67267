"""main.py: the deploy hold parks the firmware; a crash floats the outputs, logs and resets."""

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

    root = fresh_root("main-hold")
    with open(root + main.HOLD_FILE, "w") as f:
        f.write("")
    _copy_boot_py(root)  # what floats the outputs: the image is not used before its check
    _outputs_live()
    main.main(root)  # returns: no app, no watchdog
    assert all(machine.pins[p].is_floating() for p in OUTS)
    assert machine.pins[2].value() == 0 and machine.wdt is None
    assert main.HOLD_FILE not in os.listdir(root)
    assert not main.held(root)


def test_an_exception_while_running_floats_outputs_logs_the_crash_and_resets():
    import main
    from firmware.core.eventread import records

    root = fresh_root("main-crash")
    _outputs_live()
    real = main.start, main.build

    class Broken:
        async def run(self):
            raise OSError(5, "planted")

    main.start = lambda root: ("a", None)  # the boot check passed (tests/test_update.py)
    main.build = lambda root: Broken()
    try:
        raises(machine.ResetRequested, main.main, root)
    finally:
        main.start, main.build = real
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
    """main.py on a board: once the app is built, the boot check's code and the start-only
    modules leave the heap (ON_BOARD); what runs afterwards (the app, a crash) still works."""
    import sys

    import firmware.core.settings  # noqa: F401  (loaded, to see them let go)
    import firmware.hw.board_esp32  # noqa: F401
    import firmware.hw.board_pico  # noqa: F401
    import firmware.hw.board_start  # noqa: F401
    import main
    import vebus  # noqa: F401
    from firmware.core.eventread import records

    mods = {n: sys.modules[n] for n in main.START_MODULES if n in sys.modules}
    top = __import__("__main__").__dict__
    top["rp2"] = sys  # as the rp2 port's _boot.py leaves it in main.py's globals

    root = fresh_root("main-let-go")
    _outputs_live()
    saved = dict(main.__dict__)  # put back after: the other tests use the shared module
    real_build = main.build

    class Broken:
        async def run(self):
            raise OSError(5, "planted")

    main.start = lambda root: ("a", None)  # the boot check passed (tests/test_update.py)
    main.build = lambda root: (real_build(root), Broken())[1]  # settings read, then a crash
    try:
        raises(machine.ResetRequested, main.main, root, True)
        kept = [n for n in main.START_ONLY if n in main.__dict__]
        for name in mods:
            parent, _, leaf = name.rpartition(".")
            pkg = sys.modules.get(parent)
            if name in sys.modules or (pkg is not None and leaf in pkg.__dict__):
                kept.append(name)
    finally:
        main.__dict__.update(saved)
        for name, mod in mods.items():  # the other tests use the same module objects
            sys.modules[name] = mod
            parent, _, leaf = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], leaf, mod)
    assert sorted(mods) == sorted(main.START_MODULES[:5])  # rp2: the rp2 port's own
    assert kept == [] and "rp2" not in top  # their code can leave the heap
    assert all(machine.pins[p].is_floating() for p in OUTS)
    assert [r[0] for r in records(root + "events.log")] == [main.EV_CRASH]
