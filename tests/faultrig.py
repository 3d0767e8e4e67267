"""Fault-injection rig: the whole firmware (firmware.app.App on the fake machine) in virtual time,
with a scripted master Multi on the VE.Bus port, a BTV loop, remote on/off and mains detector,
and power cuts, watchdog resets and hung tasks. Deterministic; runs on CPython and on the
MicroPython VM. Used by tests/test_fault_*.py and tools/bench/bench_soak.py. Not a test module.

    rig = Rig("/tmp/x/", mode="bms")   # writes the settings file, boots: App on a fresh machine
    rig.run(5000)                     # 5 s of virtual time: every task at its own period
    rig.battery.low_cell = True       # what the BTV loop says from now on
    rig.outputs()                     # {"load": "float" | "high", "charge": ..., "prealarm": ...}
    rig.multi.commands                # switch frames (0x3F) the BMS put on the wire: [(t, state)]
    rig.app.out.multi_mode            # what protection asks of the Multi (codes.MODE_*)
    rig.events()                      # (boot, code) of every record in the event log on flash

Scheduling copies App._every: each task's step at its period (longer in low-power mode; the bus
task again at once while a frame is going out), then its watchdog check-in. `hung` stops one task
(it neither steps nor checks in), `frozen` stops them all (a step that never returns). An expired
fake WDT, or App.fail() calling machine.reset(), reboots: RAM is lost (a new machine, board and
App), files are kept -- as on the board.

Heap hygiene on the VM (256 kB): its collector is conservative and scans stale slots of the
calling frames, so a test that reads `rig.app...` or `rig.board...` just before a reboot can keep
the old App alive next to the new one. Before a reset, use the rig's own accessors (latched(),
outputs(), wdt_ms); after it, anything.
"""

import gc
import time

from vmtest import mkdirs

import startup
import vebus
from firmware.app import PERIODS
from firmware.core import settings as st
from firmware.core.eventread import decode_all
from firmware.hw.board import platform_board_name
from vebus import catalogue as cat
from vebus import peers

machine = __import__("machine")  # the fake of tests/fakes

# 30 s before the tick wrap: every run crosses it early.
START = time.ticks_add(0, -30000)  # pyright: ignore[reportArgumentType]
SYNC_MS = 20
LED_EVERY = 5  # an LED frame (mains LED = AC in) every 5th sync cycle
OTHER_AT_MS = 8  # the Multi's own frames come this long after its sync (the slot is before)
OUT_NAMES = ("load", "charge", "prealarm")
KEEP = 32


class PowerCut(BaseException):
    """The supply went away in the middle of something (raised by the cut helpers below)."""


class CutWrites:
    """A stand-in for `open` in one firmware module: the write of the n-th file opened for
    writing stops halfway and the power goes. Install: module.open = CutWrites(n)."""

    def __init__(self, nth=1):
        self.left = nth
        self.cuts = 0

    def __call__(self, path, mode="r"):
        f = open(path, mode)
        if "w" in mode or "a" in mode:
            self.left -= 1
            if self.left == 0:
                return _TornFile(f, self)
        return f


class _TornFile:
    def __init__(self, f, owner):
        self.f = f
        self.owner = owner

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()
        return False

    def write(self, data):
        half = data[: len(data) // 2 | 1]  # odd: it tears a record, whatever the batch
        self.f.write(half if isinstance(half, str) else bytes(half))
        self.f.close()
        self.owner.cuts += 1
        raise PowerCut()

    def flush(self):
        pass

    def close(self):
        self.f.close()


class CutRename:
    """A stand-in for a module's `os`: the n-th rename does not happen, the power goes.
    Install: module.os = CutRename(os, n)."""

    def __init__(self, real_os, nth=1):
        self.real = real_os
        self.left = nth
        self.cuts = 0

    def rename(self, a, b):
        self.left -= 1
        if self.left == 0:
            self.cuts += 1
            raise PowerCut()
        self.real.rename(a, b)

    def remove(self, p):
        self.real.remove(p)

    def stat(self, p):
        return self.real.stat(p)


class Lcg:
    """A tiny deterministic PRNG (the same numbers on both VMs)."""

    def __init__(self, seed=1):
        self.x = seed & 0x7FFFFFFF

    def below(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % n


class Clock:
    def __init__(self, t=START):
        self.t = t

    def __call__(self):
        return self.t


class Battery:
    """What the BTV loop says (default settings: inputs 0 discharge, 1 charge, 2 pre-alarm; an
    input reads 1 when it says OK; inputs 3.. are free for the optional lines of btv_wire.py, OK
    unless their number is in `down`). The self-test pulse breaks the loop; a stuck input ignores
    it.
    """

    def __init__(self):
        self.loop_intact = True
        self.low_cell = False
        self.high_cell = False
        self.prealarm = False
        self.stuck = {}  # input number -> level it is stuck at
        self.down = set()  # inputs 3.. that say "not OK" (low temperature, high cell lines)

    def level(self, n, pulse):
        if n in self.stuck:
            return self.stuck[n]
        if not self.loop_intact or pulse:
            return 0
        if n == 0:
            return 0 if self.low_cell else 1
        if n == 1:
            return 0 if self.high_cell else 1
        if n == 2:
            return 0 if self.prealarm else 1
        return 0 if n in self.down else 1


class Multi:
    """The master Multi on the BMS's Multi port: a sync every 20 ms, an LED frame every 100 ms;
    answers the firmware version query; decodes every frame the BMS sends."""

    def __init__(self, version=2629491, seed=1):
        self.present = True
        self.ac_in = True
        self.switch_register = 0x30  # charger and inverter switched in (catalogue, inferred)
        self.version = version
        self.noise_ppm = 0  # each byte it sends is replaced by a random one with this probability
        self.rng = Lcg(seed)
        self.n = 0
        self.cycle = 0
        self.next_sync = 0  # set by attach()
        self.attached = False
        self.pending = None  # due tick of the Multi's own frame after this sync
        self.commands = []  # (tick, switch state) of the last KEEP 0x3F frames from the BMS
        self.n_commands = 0
        self.frames_from_bms = 0
        self.kinds = {}  # message type -> count, of the BMS's frames
        self.status = None  # (flags, rate) of the last BMS status frame (catalogue, inferred)
        self.bytes_sent = 0
        self.sync_at = 0  # tick and number of the last sync sent
        self.sync_no = -1
        self.max_delay_ms = -1  # worst time from a sync to the BMS's frame after it
        self.wrong_no = 0  # BMS frames not numbered (sync N + 1) & 0x7F
        self._buf = bytearray(vebus.max_encoded_len(32))
        self._p = bytearray(32)
        self._reply = None
        self._now = 0
        self.decoder = vebus.Decoder(self._on_bms_frame, maxlen=40)  # small: VM heap

    def attach(self, uart, now):
        self.uart = uart
        self.decoder.reset()
        if not self.attached:
            self.attached = True
            self.next_sync = now

    def _send(self, n):
        buf = self._buf
        if self.noise_ppm:
            rng = self.rng
            for k in range(n):
                if rng.below(1_000_000) < self.noise_ppm:
                    buf[k] = rng.below(256)
        self.uart.inject(bytes(buf[:n]))
        self.bytes_sent += n

    def _frame(self, plen):
        self.n = (self.n + 1) & 0x7F
        return vebus.encode_data(self._buf, vebus.ADDR_MULTI, self.n, self._p, plen)

    def next_event(self):
        if self.pending is not None:
            return self.pending
        return self.next_sync

    def collect(self, now):
        """Read what the BMS wrote (called right after the tasks of this tick)."""
        self._now = now
        tx = self.uart.take_tx()
        if tx:
            self.decoder.feed(tx)

    def step(self, now):
        """Send what is due at `now` and read what the BMS sent."""
        self.collect(now)
        if not self.present:
            self.next_sync = time.ticks_add(now, SYNC_MS)
            self.pending = None
            return
        if self.pending is not None and time.ticks_diff(now, self.pending) >= 0:
            self.pending = None
            self._other()
        nxt = self.next_sync
        if time.ticks_diff(now, nxt) >= 0:
            self.next_sync = nxt = time.ticks_add(nxt, SYNC_MS)  # pyright: ignore[reportArgumentType]
            if time.ticks_diff(now, nxt) > 0:  # we slept: no burst of old syncs
                self.next_sync = time.ticks_add(now, SYNC_MS)
            self._sync(now)
            self.pending = time.ticks_add(now, OTHER_AT_MS)

    def coarse(self, now):
        """Coarse mode (soak): one sync now, and the Multi's own frames after the BMS's slot."""
        self.collect(now)
        self.next_sync = now
        self.pending = None
        if not self.present:
            return
        self._sync(now)

    def _sync(self, now):
        """The next sync frame onto the bus."""
        self.n = (self.n + 1) & 0x7F
        self.sync_at = now
        self.sync_no = self.n
        plen = peers.build_sync(self._p, 0x51, self.cycle & 0xFFFF)
        self._send(vebus.encode_sync(self._buf, self.n, self._p, plen))
        self.cycle += 1

    def coarse_after(self):
        if self.present:
            self._other()

    def _other(self):
        if self._reply is not None:
            code, value = self._reply
            self._reply = None
            p = self._p
            p[0] = cat.MSG_WINMON
            p[1] = self._reply_id
            p[2] = code
            p[3] = value & 0xFF
            p[4] = value >> 8
            self._send(self._frame(5))
        elif self.cycle % LED_EVERY == 0:
            mains = 0x01 if self.ac_in else 0
            plen = peers.build_led(self._p, mains, 0, 0, 20, 500, 160, self.switch_register)
            self._send(self._frame(plen))

    def _on_bms_frame(self, f):
        self.frames_from_bms += 1
        d = time.ticks_diff(self._now, self.sync_at)
        if d > self.max_delay_ms:
            self.max_delay_ms = d
        if f.frame_no != (self.sync_no + 1) & 0x7F:
            self.wrong_no += 1
        self.kinds[f.msg] = self.kinds.get(f.msg, 0) + 1
        p = f.payload
        if f.msg == cat.MSG_SWITCH and len(p) >= 2:
            self.n_commands += 1
            if len(self.commands) >= KEEP:  # bounded: the soak measures the heap
                self.commands.pop(0)
            self.commands.append((self._now, p[1]))
        elif peers.is_bms_status(p, len(p)):
            self.status = (cat.get(p, cat.STATUS_FLAGS), cat.get(p, cat.STATUS_RATE))
        elif f.msg == cat.MSG_WINMON and len(p) >= 3 and p[2] in (0x05, 0x06):
            self._reply_id = p[1]
            v = self.version if p[2] == 0x05 else self.version >> 16
            self._reply = (0x82 if p[2] == 0x05 else 0x83, v & 0xFFFF)

    def last_command(self):
        return self.commands[-1][1] if self.commands else None

    def controller_switch(self, state):
        """A GX / VRM switch request (0x3F, cat.SWITCH_*) from a controller on this segment."""
        plen = cat.build_switch(self._p, state)
        n = vebus.encode_data(self._buf, vebus.ADDR_CONTROLLER, (self.n + 1) & 0x7F, self._p, plen)
        self.uart.inject(bytes(self._buf[:n]))


class Rig:
    def __init__(
        self, root, mode="listen", multi=True, settings=None, boot=True, seed=1, start=START
    ):
        _retire()
        _LAST.append(self)
        self.root = root
        mkdirs(root.rstrip("/"))
        self.clock = Clock(start)
        self.battery = Battery()
        self.remote_on = True
        self.remote_wiring = "bridge"  # how remote on/off is wired: bridge | l_low | h_high
        self.mains = True  # AC present at the mains detector
        self.mains_fitted = True  # the detector's optocoupler is fitted (docs/hardware.md)
        self.multi = Multi(seed=seed)
        self.multi.present = multi
        self.hung = -1
        self.frozen = False
        self._timer_at = None  # the last time the timers fired
        self.boots = []  # reset cause of every boot
        self.crashes = 0
        self.power_cuts = 0
        self.max_late_ms = 0  # worst lateness of a task step behind its due time
        self.step_us = []  # set to [0] * 7: the longest wall time of each task's step (us)
        values = {"vebus_mode": mode, "panel_port": False}  # the Multi's port only
        if settings:
            values.update(settings)
        s = st.Settings()
        errors = s.update(values)
        assert not errors, errors
        st.save(s, self.settings_path())
        if boot:
            self.boot()

    def settings_path(self):
        return self.root + "settings.json"

    # ---- power ----
    def boot(self, cause=1):
        """Power-up / reset: a fresh fake machine (RAM lost, files kept), then main.py's own
        build(): settings from flash (defaults if missing or bad), board, App."""
        for name in ("app", "board"):  # RAM is lost: let the old App go before the new one
            patch(self, name, None, keep=True)
        machine.reset_fakes(cause)
        _scrub()
        gc.collect()
        machine.set_clock(self.clock)
        self.boots.append(cause)
        self.settings, self.settings_errors = st.load(self.settings_path(), platform_board_name())
        self.app = startup.build(self.root, ticks_ms=self.clock)
        self.board = self.app.board
        self.wdt_ms = self.board.profile["wdt_ms"]
        self.app.wd.clock = self.clock  # the hang guard's clock
        self._wrap_inputs()
        now = self.clock.t
        self.due = [now] * len(PERIODS)
        self.multi.attach(machine.uarts[self.board.profile["bus"][0][1]], now)
        self._timer_at = None

    def _wrap_inputs(self):
        """The outside world's levels are put on the fake pins just before the board reads them
        (the self-test pulse is seen at once, as the real loop would)."""
        b = self.board
        prof = b.profile
        btv_pins = [spec[1] for spec in prof["btv_inputs"]]
        test_pin = machine.pins[prof["btv_test_pin"]]
        read_btv = b.read_btv
        read_rm = b.read_remote_mains
        pins = machine.pins
        bat = self.battery

        def btv():
            pulse = test_pin.value()
            for n, pid in enumerate(btv_pins):
                pins[pid].external = bat.level(n, pulse)
            return read_btv()

        def remote_mains():
            # docs/hardware.md's front end: L pulled up (reads 1 unless pulled to minus), H pulled
            # down (reads 1 when high); a closed bridge puts about 4.5 V on both: L 1, H 1
            l_low = self.remote_on and self.remote_wiring == "l_low"
            h_high = self.remote_on and self.remote_wiring != "l_low"
            pins[prof["remote_h"][1]].external = 1 if h_high else 0
            pins[prof["remote_l"][1]].external = 0 if l_low else 1
            # mains detector: pulled up on the board, its optocoupler pulls it low with AC present
            fitted_ac = self.mains_fitted and self.mains
            pins[prof["mains"][1]].external = 0 if fitted_ac else None
            return read_rm()

        b.read_btv = btv
        b.read_remote_mains = remote_mains

    # ---- time ----
    def _period(self, i, now):
        """The sleep after task i's step, as App._every chooses it."""
        return self.app.sleep_after(i, now)

    def run(self, ms):
        """Advance virtual time by ms, running every task (and the Multi) when due."""
        end = time.ticks_add(self.clock.t, ms)
        while True:
            cause = self._until(end)
            if cause is None:
                return
            # Reboot here, after _until's frame is gone: the VM's collector is conservative
            # and stale pointers from the last steps would keep parts of the old App alive.
            _scrub()
            self.boot(cause)

    def _until(self, end):
        """Run until `end` (None) or until the board resets (the reset cause)."""
        while True:
            now = self.clock.t
            nxt = end
            if not self.frozen:
                for i in range(len(self.due)):
                    if i != self.hung and time.ticks_diff(self.due[i], nxt) < 0:
                        nxt = self.due[i]
            m = self.multi.next_event()
            if m is not None and time.ticks_diff(m, nxt) < 0:
                nxt = m
            tick = self._timer_due(now)  # timer IRQs run even while the tasks are frozen
            if tick is not None and time.ticks_diff(tick, nxt) < 0:
                nxt = tick
            if time.ticks_diff(nxt, now) > 0:
                self.clock.t = nxt
                now = nxt
            if machine.wdt is not None and machine.wdt.expired(now):
                return machine.WDT_RESET
            if tick is not None and time.ticks_diff(now, tick) >= 0:
                self._timer_at = now
                for tm in machine.timers:
                    tm.fire()
            self.multi.step(now)
            if not self.frozen:
                try:
                    self._tasks(now)
                except machine.ResetRequested:
                    self.crashes += 1
                    return machine.HARD_RESET
                except PowerCut:
                    self.power_cuts += 1
                    return machine.PWRON_RESET
                self.multi.collect(now)
            if time.ticks_diff(end, now) <= 0:
                return None

    def _timer_due(self, now):
        """When the periodic timers fire next (the watchdog's hang guard), None without one."""
        period = 0
        for tm in machine.timers:
            if tm.callback is not None and tm.period > 0:
                period = tm.period
        if not period:
            return None
        if self._timer_at is None:
            self._timer_at = now
        return self._timer_at + period  # only ever compared with ticks_diff

    def _tasks(self, now, every=False):
        app = self.app
        wd = app.wd
        steps = _steps(app)
        timing = self.step_us or None
        for i in _COARSE_ORDER if every else range(len(self.due)):
            if i == self.hung or (not every and time.ticks_diff(now, self.due[i]) < 0):
                continue
            late = time.ticks_diff(now, self.due[i])
            if late > self.max_late_ms and not every:
                self.max_late_ms = late
            if every and i == 5:  # coarse: the skipped time counts as every task alive
                for k in range(len(self.due)):
                    if k != self.hung:
                        wd.check_in(k, now)
            if timing is not None:
                t0 = time.ticks_us()
            try:
                steps[i](now)
            except Exception as e:
                app.fail(e)  # floats the outputs, logs, machine.reset() -> ResetRequested
            if timing is not None:
                dt = time.ticks_diff(time.ticks_us(), t0)  # pyright: ignore[reportPossiblyUnbound]
                if dt > timing[i]:
                    timing[i] = dt
            wd.check_in(i, now)
            self.due[i] = time.ticks_add(now, self._period(i, now))

    def run_coarse(self, ms, q=2000):
        """Soak fast-forward: every q ms one sync from the Multi, then every task's step once,
        the supervisor's last after every task (itself included) checked in at this tick: the
        skipped time counts as healthy. Not the real periods: see tests/soakrig.py."""
        end = time.ticks_add(self.clock.t, ms)
        while time.ticks_diff(end, self.clock.t) > 0:
            left = time.ticks_diff(end, self.clock.t)
            self.clock.t = time.ticks_add(self.clock.t, q if q < left else left)
            now = self.clock.t
            if machine.wdt is not None and machine.wdt.expired(now):
                _scrub()
                self.boot(machine.WDT_RESET)
                continue
            self.multi.coarse(now)
            try:
                self._tasks(now, every=True)
            except machine.ResetRequested:
                self.crashes += 1
                _scrub()
                self.boot(machine.HARD_RESET)
                continue
            self.multi.collect(now)
            self.multi.coarse_after()
        now = self.clock.t
        for i in range(len(self.due)):
            self.due[i] = now
        self.multi.next_sync = now

    # ---- what the outside world sees ----
    def outputs(self):
        out = {}
        for k, (pid, level) in enumerate(self.board.profile["outputs"]):
            pin = machine.pins[pid]
            if pin.is_floating():
                out[OUT_NAMES[k]] = "float"
            elif pin.mode() == machine.Pin.OUT and pin.value() == level:
                out[OUT_NAMES[k]] = "high"
            else:
                out[OUT_NAMES[k]] = "driven low"  # never right: the stage is high or floating
        return out

    def latched(self):
        return bool(self.app.out.latched)

    def all_floating(self):
        return all(v == "float" for v in self.outputs().values())

    def events(self):
        """(boot number, event code) of every intact record in the event log files, oldest
        first (the rotated <path>.1 before <path>)."""
        out = []
        for path in (self.root + "events.log.1", self.root + "events.log"):
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            for code, _reason, _arg, _tick, boot in decode_all(data):
                out.append((boot, code))
        return out

    def ram_events(self):
        return [code for _t, code, _r, _a in self.app.log.entries()]


def _steps(app):
    return (
        app.inputs_step,
        app.protect_step,
        app.bus_step,
        app.leds_step,
        app.log_step,
        app.supervisor_step,
        app.idle_step,
    )


# Coarse rounds step the supervisor last, so it sees every task's check-in of the same round.
_COARSE_ORDER = (0, 1, 2, 3, 4, 6, 5)
_LAST = []  # the rig made last: retired when the next one is made


def _retire():
    """Release the previous rig's App, board and models. A stale pointer in a finished test's
    frame may keep the Rig object itself alive on the VM; this keeps it small."""
    while _LAST:
        old = _LAST.pop()
        for name in ("app", "board", "multi", "settings", "battery"):
            patch(old, name, None, keep=True)
    machine.reset_fakes()
    gc.collect()


def _scrub(depth=24):
    """Overwrite the stack below us with small ints before a collection: the VM's collector is
    conservative, and a stale pointer left there by the last task step would keep the old App
    (tens of kB of the VM test heap) alive across a simulated reboot."""
    a = b = c = d = e = f = g = h = i = j = k = m = depth
    if depth:
        _scrub(depth - 1)
    return a + b + c + d + e + f + g + h + i + j + k + m


def patch(obj, name, value, keep=False):
    """obj.name = value; value None removes the attribute (keep=True: sets None). For a stand-in
    `open` or `os` in one firmware module, put back afterwards with patch(module, name, None)."""
    if value is None and not keep:
        delattr(obj, name)
    else:
        setattr(obj, name, value)
