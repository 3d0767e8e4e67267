"""The firmware under simulation: its board on fake pins and UARTs, its app on the virtual loop.

The firmware is not modified or reimplemented here: this module builds its `Board` and `App`
exactly as main.py does (from a settings object), then only touches what a real bench would:
levels on the input pins (BTV loop, remote on/off, mains detector), the bytes on its UARTs, and
the state of its output and LED pins. The levels come from the board's circuits
(tools/sim/frontend.py) and the scenario's `system`; the pin numbers and the outputs' "on" levels
from the board profile (firmware/hw/board_*.py).

Settings: the firmware defaults, then the scenario's `settings`, validated by the firmware's own
table. The simulator sets none of them: a scenario whose Multi should hear the BMS says
`"vebus_mode": "bms"`, one with a DMC says `"dmc_present": true`, as a user would configure it.
"""

import os
import shutil
import tempfile
import time
from typing import Any

import machine  # tests/fakes/machine.py

from tools.sim import frontend
from tools.sim.scenario import INITIAL_INPUTS, ScenarioError

BOARD_EVENT_BASE = 32  # firmware/app.py's own event codes start here (core's are below)
HEARTBEAT_LOST_S = 12.0  # no status flash for this long: the status LED is off
BOOTLOADER_FLASHES_PER_S = 5
LISTEN_PAIR_S = 1.0  # listen mode: two status flashes this close together


def initial_inputs():
    return dict(INITIAL_INPUTS)


def make_settings(overrides):
    """The firmware's Settings: its defaults and the scenario's overrides."""
    from firmware.core.settings import Settings

    s = Settings()
    errors = s.update(overrides)
    if errors:
        raise ScenarioError("settings.%s" % errors[0])
    return s


def check_settings(overrides):
    """For scenario.load(): refuse what the firmware's settings table refuses."""
    make_settings(overrides)


class _PinWatch:
    """Calls `fn(pin_id)` whenever a watched pin's mode, pull or driven level changes.

    The fake machine.Pin keeps one shared state object per pin id (every Pin(id) refers to it).
    `arm()` puts a watching state object in place for each watched id before the firmware
    builds its pins, so only writes to those pins cost anything: input reads are untouched.
    """

    def __init__(self):
        self.fns = {}

    def arm(self):
        """Call after machine.reset_fakes() and before the firmware creates its pins."""
        fns = self.fns
        for pin_id, fn in fns.items():
            p = machine.Pin(pin_id)
            p._s = _watched_state(p._s, fn, pin_id)  # pyright: ignore[reportAttributeAccessIssue]

    def uninstall(self):
        pass


def _watched_state(old, fn, pin_id):
    cls = type(old)
    watched = type(
        "_Watched" + cls.__name__,
        (cls,),
        {"__setattr__": _make_setattr(cls, fn, pin_id)},
    )
    new = object.__new__(watched)
    for k, v in vars(old).items():
        object.__setattr__(new, k, v)
    return new


def _make_setattr(cls, fn, pin_id):
    base = cls.__setattr__

    def __setattr__(self, name, value):
        base(self, name, value)
        if name in ("mode", "out", "pull"):
            fn(pin_id)

    return __setattr__


class FirmwareHost:
    def __init__(self, sim, overrides):
        from firmware.hw.board_start import profile_module

        self.sim = sim
        self.system = sim.scn.system
        self.settings = make_settings(overrides)
        # The board the firmware is built for (setting `board`): its profile is the hardware.
        self.profile = profile_module(self.settings.board).PROFILE
        p = self.profile
        names = ("load_disconnect", "charge_disconnect", "pre_alarm")
        self.out_pins = [(names[i], p["outputs"][i][0], p["outputs"][i][1]) for i in range(3)]
        self.btv_pins = [spec[1] for spec in p["btv_inputs"]]
        self.remote_l = p["remote_l"][1]
        self.remote_h = p["remote_h"][1]
        self.mains_pin = p["mains"][1]
        self.test_pin = p["btv_test_pin"]
        leds = {name: (pin, lit) for name, pin, lit in p["leds"]}
        self.led_status = leds["status"]
        self.led_cell_ok = leds["cell_ok"]
        self.led_high = leds["cell_high"]
        self.uart_ids = {name: uart_id for name, uart_id, _tx, _rx, _de in p["bus"]}
        self.de_pins = {name: de for name, _u, _tx, _rx, de in p["bus"]}
        self.watch = _PinWatch()
        self._rises = []
        self._status_level = 0
        self.app: Any = None
        self.task: Any = None
        self.loop: Any = None
        self.root = tempfile.mkdtemp(prefix="sim-flash-")  # the board's flash: survives reboots
        self.boots = 0
        self.resets = []  # (t, why) of every firmware reset
        self.task_errors = []  # (t, what) of every firmware task that died
        self.t0_ticks = 0

    # ---- life ----
    def start(self, loop):
        self.loop = loop
        self.t0_ticks = time.ticks_ms()  # pyright: ignore[reportAttributeAccessIssue]
        w = self.watch
        for _name, pin, _lvl in self.out_pins:
            w.fns[pin] = self._on_output
        w.fns[self.led_status[0]] = self._on_status_led
        w.fns[self.led_cell_ok[0]] = self._on_output
        w.fns[self.led_high[0]] = self._on_output
        w.fns[self.test_pin] = self._on_test_pin
        self._boot()

    def _boot(self):
        """Power the board up: build its Board and App as main.py does, start the app's tasks."""
        from firmware.app import App  # pyright: ignore[reportMissingImports]
        from firmware.hw.board import Board

        self.boots += 1
        machine.sleep_hook = self.loop.sleep_ms  # a light sleep takes virtual time, as on a chip
        self.watch.arm()
        self.drive_inputs(self.sim.bank.loop, self.sim.inputs)
        board = Board.from_settings(self.settings)
        for name, uart_id in self.uart_ids.items():
            u = machine.uarts.get(uart_id)
            if u is not None:
                u.de = machine.Pin(self.de_pins[name])
        ticks = time.ticks_ms  # pyright: ignore[reportAttributeAccessIssue]  (hostcompat)
        self.app = App(board, self.settings, ticks_ms=ticks, root=self.root + "/")
        self.task = self.loop.create_task(self._guard(self.app))

    async def _guard(self, app):
        """Run the app; a machine.reset() (crash path or watchdog) reboots the board."""
        try:
            await app.run()
        except machine.ResetRequested:
            self.loop.call_soon(self._reboot, "machine.reset()")

    def task_error(self, task, exc):
        """A firmware task ended with an exception (sched.Scheduler's hook)."""
        if isinstance(exc, machine.ResetRequested):
            self.loop.call_soon(self._reboot, "machine.reset()")
        else:
            # As on asyncio: the task is dead; the supervisor stops feeding the watchdog.
            self.task_errors.append((round(self.loop.time(), 3), "%s: %r" % (task.name, exc)))

    def reboot(self, why, cause=None):
        """Reset the board now (cause: a machine.*_RESET constant, default WDT_RESET)."""
        self._reboot(why, cause)

    def _reboot(self, why, cause=None):
        self.resets.append((round(self.loop.time(), 3), why))
        for t in getattr(self.app, "tasks", ()):
            t.cancel()
        if self.task is not None:
            self.task.cancel()
        machine.reset_fakes(machine.WDT_RESET if cause is None else cause)
        self.sim.observe()
        self.loop.call_soon(self._after_reboot)

    def _after_reboot(self):
        self._boot()
        for port, name in ((self.sim.fw_multi, "multi"), (self.sim.fw_panel, "panel")):
            port.plug(self.uart(name))

    def check_watchdog(self, now_ms):
        """A watchdog the firmware started and stopped feeding resets the board."""
        wdt = machine.wdt
        if wdt is not None and wdt.expired(now_ms):
            self._reboot("watchdog")

    def stop(self):
        self.watch.uninstall()
        shutil.rmtree(self.root, ignore_errors=True)

    def uart(self, name):
        uart_id = self.uart_ids.get(name)
        return None if uart_id is None else machine.uarts.get(uart_id)

    # ---- the world onto the firmware's inputs ----
    def drive_inputs(self, loop_signals, inputs):
        """The BTV loop, remote on/off and mains detector levels onto the firmware's input pins,
        from the board's circuits (tools/sim/frontend.py) and the scenario's `system`.

        While the firmware's self-test output pulses (`btv_test_pin` driven high) the loop is
        broken: every line reads "not OK" -- except an input stuck by the scenario."""
        sysm = self.system
        stuck = _STUCK.get(inputs.get("input_stuck"))
        levels = frontend.btv_levels(
            sysm["btv_lines"], sysm["btv_ok_level"], loop_signals, self._test_pulse(), stuck
        )
        pins = machine.pins
        for n, pin_id in enumerate(self.btv_pins):
            _ext(pins, pin_id, levels.get(n))
        l_level, h_level = frontend.remote_levels(sysm["remote_wiring"], inputs["remote"] == "on")
        _ext(pins, self.remote_l, l_level)
        _ext(pins, self.remote_h, h_level)
        _ext(pins, self.mains_pin, frontend.mains_level(sysm["mains_detector"], inputs["ac_in"]))

    def _test_pulse(self):
        p = machine.pins.get(self.test_pin)
        return p is not None and p.mode() == machine.Pin.OUT and p.value() == 1

    def _on_test_pin(self, pin_id):
        self.drive_inputs(self.sim.bank.loop, self.sim.inputs)

    # ---- the firmware's outputs ----
    def outputs(self):
        pins = machine.pins
        out = {}
        for name, pin_id, level in self.out_pins:
            p = pins.get(pin_id)
            high = p is not None and frontend.output_high(
                p.mode(), p.value(), machine.Pin.OUT, level
            )
            out[name] = "high" if high else "floating"
        return out

    def _on_output(self, pin_id):
        self.sim.observe()

    def _led(self, spec):
        p = machine.pins.get(spec[0])
        return p is not None and p.mode() == machine.Pin.OUT and p.value() == spec[1]

    def _on_status_led(self, pin_id):
        lit = self._led(self.led_status)
        if lit and not self._status_level:
            now = self.sim.loop.time()
            self._rises.append(now)
            if len(self._rises) > 32:
                del self._rises[:16]
        self._status_level = lit
        self.sim.observe()

    def leds(self, now):
        rises = self._rises
        recent = [t for t in rises[-BOOTLOADER_FLASHES_PER_S:] if now - t <= 1.0]
        if len(recent) >= BOOTLOADER_FLASHES_PER_S:
            status = "bootloader"
        elif rises and now - rises[-1] <= HEARTBEAT_LOST_S:
            # listen mode's double flash: two flashes within 1 s among the last three
            last = rises[-3:]
            pairs = [(a, b) for a, b in zip(last, last[1:]) if b - a <= LISTEN_PAIR_S]
            listen = any(now - a <= HEARTBEAT_LOST_S + LISTEN_PAIR_S for a, _b in pairs)
            status = "listen" if listen else "heartbeat"
        elif self._status_level:
            status = "on"
        else:
            status = "off"
        return {
            "led_status": status,
            "led_cell_ok": "on" if self._led(self.led_cell_ok) else "off",
            "led_high_cell": "on" if self._led(self.led_high) else "off",
        }

    # ---- what the firmware knows ----
    def bms_power(self):
        """The protection's BMS power mode (core Protection outputs.low_power)."""
        out = getattr(self.app, "out", None)
        return "low" if out is not None and out.low_power else "normal"

    def events(self):
        """The firmware's own event log, read back from its flash file (events.log)."""
        from firmware.core import eventread
        from tools.events import event_text

        app = self.app
        if app is not None:
            app.log_step(time.ticks_ms())  # pyright: ignore  (what its `log` task does each second)
        data = b""
        for name in ("events.log.1", "events.log"):
            try:
                with open(os.path.join(self.root, name), "rb") as f:
                    data += f.read()
            except OSError:
                pass
        out = []
        for code, reason, arg, tick, boot in eventread.decode_all(data):
            msg = event_text(code, reason, arg)
            t = time.ticks_diff(tick & 0x3FFFFFFF, self.t0_ticks) / 1000.0  # pyright: ignore
            out.append(
                {
                    "t": round(t, 3),
                    "boot": boot,
                    "code": code,
                    "reason": reason,
                    "arg": arg,
                    "text": msg,
                }
            )
        return out

    def rejects(self):
        """The firmware's decoders' reject counters by reason (Multi port + panel port)."""
        from vebus import REASONS

        out = {}
        for part in ("role", "panel"):
            dec = getattr(getattr(self.app, part, None), "decoder", None)
            if dec is None:
                continue
            for i in range(1, len(REASONS)):
                out[REASONS[i]] = out.get(REASONS[i], 0) + dec.counts[i]
        return out


_STUCK = {"atd": "discharge", "atc": "charge"}  # scenario input_stuck -> the line stuck at OK


def _ext(pins, pin_id, level):
    p = pins.get(pin_id)
    if p is None:
        p = machine.Pin(pin_id)
    p.external = level
