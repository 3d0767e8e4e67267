"""The whole firmware in virtual time on both VMs (tests/fakes/vclock.py): boot.py, startup.build,
the real asyncio tasks, the fake machine. Helpers of tests/test_e2e.py and tests/test_panel*.py;
not a test module.
"""

import gc

from vmtest import fresh_root

machine = __import__("machine")  # the fake of tests/fakes (typed as a plain module)

_HERE = __file__.rpartition("/")[0] or "."
ROOT = _HERE.rpartition("/")[0] or "."
OUTS = (13, 14, 9)  # Pico: load disconnect, charge disconnect, pre-alarm
BTV = (16, 17, 18)  # btv0 discharge line, btv1 charge line, btv2 pre-alarm line


def _boot():
    with open(ROOT + "/boot.py") as f:
        exec(f.read(), {"__name__": "boot"})


def _battery_ok():
    for p in BTV:
        machine.Pin(p).external = 1  # btv_ok_low_mask = 0: a line reads 1 when OK
    machine.Pin(10).external = 1  # remote L open: its front end reads high (not pulled low)
    machine.Pin(11).external = 1  # remote H high: on
    machine.Pin(12).external = None  # no mains detector fitted: the board's pull-up


def _fresh():
    """Drop what an earlier test left in asyncio (its tasks keep its app alive), power off."""
    import vclock  # pyright: ignore[reportMissingImports]

    vclock.fresh()
    machine.reset_fakes()
    gc.collect()


def _floating():
    return [machine.Pin(p).is_floating() for p in OUTS]


def _power_up(root, clock, panel=False, **values):
    """boot.py, then startup.build (as main.py does) with the virtual clock; panel: the Remote
    panel port is used too (setting panel_port); values: other settings."""
    import vclock  # pyright: ignore[reportMissingImports]

    import startup
    from firmware.core.settings import Settings

    vclock.fresh()
    vclock.install(clock)
    gc.collect()
    _boot()
    _battery_ok()
    s = Settings()
    s.set("vebus_mode", "bms")
    s.set("panel_port", panel)
    for k in values:
        s.set(k, values[k])
    return startup.build(root, clock.ticks_ms, s)


def _with_multi(name):
    """A fresh board powered up with the scripted Multi on its bus."""
    _fresh()
    import vclock  # pyright: ignore[reportMissingImports]
    from multi import ScriptedMulti  # pyright: ignore[reportMissingImports]

    clock = vclock.VClock()
    app = _power_up(fresh_root(name), clock)
    multi = ScriptedMulti(machine.uarts[0], clock.t)
    clock.hooks.append(multi)
    return app, clock, multi


def _run(app, ms, check=None):
    """Run the app's tasks for ms of virtual time; check(t) every 10 ms."""
    import asyncio

    import vclock  # pyright: ignore[reportMissingImports]

    async def phase():
        if not app.tasks:
            app.start()
        for _ in range(ms // 10):
            await asyncio.sleep_ms(10)
            if check is not None:
                check(app.ticks())

    vclock.run(phase())


# ---- the Remote panel port (tests/test_panel*.py) ----
ON = b"\x3f\x07\x00\x00\x00"  # switch frames (vebus.md): on
CHARGER_ONLY = b"\x3f\x05\x00\x00\x00"
OFF = b"\x3f\x04\x00\x00\x00"
WRITE = b"\x00\x52\x37\x02\x83\x2c\x01"  # Winmon 0x37 WriteViaID (a setting write)
READ = b"\x00\x52\x30\x04"  # Winmon 0x30: read RAM variable 4 (no control)


def _system(name, **values):
    """A board with its Remote panel port in use, the Multi (AC in) and a device on the panel
    port (tests/fakes/paneldev.py); run until the outputs are on."""
    _fresh()
    import vclock  # pyright: ignore[reportMissingImports]
    from multi import ScriptedMulti  # pyright: ignore[reportMissingImports]
    from paneldev import PanelDevice  # pyright: ignore[reportMissingImports]

    clock = vclock.VClock()
    app = _power_up(fresh_root(name), clock, True, **values)
    multi = ScriptedMulti(machine.uarts[0], clock.t, ac_in=True, keep=12)
    dev = PanelDevice(machine.uarts[1])
    clock.hooks[:] = [multi, dev]
    _run(app, 2500)
    assert not machine.pins[13].is_floating()  # loads on
    return app, multi, dev


def _codes(app, code):
    """The args of the events of that code in the RAM log."""
    return [e[3] for e in app.log.entries() if e[1] == code]


def _each_second(app, dev, payload, seconds, check=None):
    """A controller repeating its request every second (only a change is news)."""
    for _ in range(seconds):
        dev.send(payload)
        _run(app, 1000, check)


def _switches(multi):
    """The states of the switch frames the scripted Multi kept (0x3F s, vebus.md)."""
    return [g[3][1] for g in multi.frames(0x3F)]
