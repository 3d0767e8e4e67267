"""The application: asyncio tasks wiring firmware/core, firmware/bms and firmware/hw.

    from firmware.app import App
    app = App(board, settings, ticks_ms=time.ticks_ms, root="/")
    asyncio.run(app.run())          # main.py; app.start() only creates the tasks

Construction reads the latched-fault record and the boot counter from `root` (latch.bin), opens
the event log (events.log), floats every output and builds everything once; nothing is allocated
per tick afterwards. The watchdog starts with the first supervisor step.

Tasks (each a thin loop around a step method, periods in PERIODS, longer in low-power mode):
    inputs      BTV loop (and its self-test drive), remote on/off, mains detector -> core
    protect     core Protection.step -> output pins, the bus role, the latched-fault record
    bus         receive: both VE.Bus ports -> decoders, Multi presence; transmit: the moment a
                sync is decoded, this slot's frame (firmware/bms) -> RS485 send, then txdone is
                polled at every loop pass (sleep_ms(0)) until DE is low again. Receive and
                transmit share one task on purpose: a separate transmit task would add a
                scheduling delay to the slot and allocate a coroutine per wake-up (Event.wait).
    leds        the manual's LED patterns
    log         RAM event log -> flash; the latched-fault record when it changed
    supervisor  feeds the watchdog only while every task checked in recently; the moment one
                stops, the outputs float and stay floating until the watchdog resets the chip
    idle        in low-power mode with the Multi absent: machine.lightsleep between ticks
No task blocks: the transmit path yields between txdone polls, flash writes happen in `log` only.
A step that raises: outputs floating, the event logged and flushed, the board reset (`fail`).

Time: every reading goes through the injected `ticks_ms` (default time.ticks_ms), and waiting
goes through asyncio's sleep_ms, so the whole app runs in virtual time:
  - MicroPython (the unix port): asyncio.core reads time through its module global `ticks` and
    waits in `_io_queue.wait_io_event(dt)`. tests/fakes/vclock.py replaces the first with the
    virtual clock and the second with "advance the clock by dt, poll without blocking". The C
    task queue stamps tasks pushed without a time with the real ticks_ms, so the virtual clock
    starts 2**26 ms ahead of the real one: such tasks are simply due at once.
  - CPython (the simulator): run it in an event loop whose time() is the virtual clock, and give
    the same clock to tools.hostcompat.set_clock and to App(ticks_ms=...).
"""

import asyncio
import time

from micropython import const

from firmware.bms.role import (
    EV_MULTI_ABSENT,
    EV_MULTI_PRESENT,
    EV_PROBE,
    EV_REQUEST,
    EV_VERSION,
    SLOT_MS,
    BmsRole,
)
from firmware.core.btv import BtvDecoder
from firmware.core.codes import HIGH
from firmware.core.eventfile import EventFile
from firmware.core.events import EventLog
from firmware.core.latch import LatchStore
from firmware.core.leds import Leds as LedPatterns
from firmware.core.mains import Mains
from firmware.core.protection import CH_LATCH, Protection
from firmware.core.remote import Remote
from firmware.hw.pins import CHARGE_DISCONNECT, LOAD_DISCONNECT, PRE_ALARM

# Board-side event codes (core's codes are 1..31): texts in EVENT_TEXTS.
EV_CRASH = const(32)
EV_WATCHDOG_RESET = const(33)
EV_MULTI_UP = const(34)
EV_MULTI_DOWN = const(35)
EV_MULTI_VERSION = const(36)
EV_BMS_PROBE = const(37)
EV_TASK_STALE = const(38)
EV_CONTROL_REQUEST = const(39)
EV_SETTINGS = const(40)
EV_SETTINGS_MISSING = const(41)
EV_IMAGE = const(42)  # main.py writes these three (the boot check runs before the app exists)
EV_IMAGE_BAD = const(43)
EV_ROLLBACK = const(44)
EVENT_TEXTS = {
    EV_CRASH: "crash: unhandled exception, outputs floating, reset",
    EV_WATCHDOG_RESET: "watchdog reset: a task stopped, outputs were floating through it",
    EV_MULTI_UP: "Multi present (syncs on VE.Bus)",
    EV_MULTI_DOWN: "Multi absent: no sync for 1 s",
    EV_MULTI_VERSION: "Multi firmware read: %d (its last three digits are the VE.Bus version)",
    EV_BMS_PROBE: "GX BMS probe seen (answered: %d)",
    EV_TASK_STALE: "watchdog not fed: task %d stopped checking in",
    EV_CONTROL_REQUEST: "switch request from another controller: mode %d",
    EV_SETTINGS: "settings file: %d problem(s), defaults kept for those (details on the console)",
    EV_SETTINGS_MISSING: "settings file missing: every setting at its default",
    EV_IMAGE: "firmware build %d started: boot check passed (deploy.py --info: its version)",
    EV_IMAGE_BAD: "boot check failed (cause %d, see docs/bench-testing.md): outputs floating, "
    "status LED at 15 Hz, no app; deploy again",
    EV_ROLLBACK: "new firmware image failed (cause %d, see docs/bench-testing.md): back to the "
    "previous image",
}

T_INPUTS = const(0)
T_PROTECT = const(1)
T_BUS = const(2)
T_LEDS = const(3)
T_LOG = const(4)
T_SUPERVISOR = const(5)
T_IDLE = const(6)
TASK_NAMES = ("inputs", "protect", "bus", "leds", "log", "supervisor", "idle")
# (period ms, period in low-power mode, longest gap between check-ins)
PERIODS = (
    (10, 50, 1000),
    (20, 100, 1000),
    (2, 20, 1000),  # 0 while a frame goes out; 2 around each sync (BmsRole.poll_ms)
    (50, 200, 1000),
    (1000, 1000, 2500),
    (250, 250, 1000),
    (250, 1, 1000),  # low power: awake 1 ms after each _SLEEP_MS light sleep
)
_SLEEP_MS = const(15)  # one light sleep in low-power mode (below every low-power period)
_RX_CHUNKS = const(8)  # chunks read per bus_rx step at most (8 x 128 bytes: 40 ms of traffic)


class App:
    def __init__(self, board, settings, ticks_ms=time.ticks_ms, root="/", log_size=64):
        self.board = board
        self.settings = settings
        self.ticks = ticks_ms
        board.safe()
        now = ticks_ms()
        self.latch = LatchStore(root + "latch.bin")
        latched, reason, _ = self.latch.load()
        self.boot_no = self.latch.next_boot()
        self.log = EventLog(log_size)
        self.events = EventFile(root + "events.log", settings.event_log_max_bytes, self.boot_no)
        self.prot = Protection(settings, self.log, latched, reason)
        self.out = self.prot.outputs
        self.btv = BtvDecoder(settings)
        self.remote = Remote(settings)
        self.mains = Mains(settings)
        self.patterns = LedPatterns()
        self.role = BmsRole(settings)
        self.port = board.ports[0]
        self.panel = board.ports[1] if len(board.ports) > 1 else None
        self.wd = board.watchdog
        for i in range(len(TASK_NAMES)):
            self.wd.register(TASK_NAMES[i], PERIODS[i][2], now)
        self._latch_dirty = False
        self.halted = False  # a task stopped checking in: outputs held floating until reset
        self.crashed = None
        self._rx_at = now
        self.tasks = []
        if board.watchdog_reset():
            self.log.record(now, EV_WATCHDOG_RESET, 0, 0)

    # ---- steps (one per task; `now` from the injected clock) ----
    def inputs_step(self, now):
        b = self.board
        b.btv_test.value(self.btv.drive(now))
        self.btv.sample(now, b.read_btv())
        rm = b.read_remote_mains()
        self.remote.sample(now, rm[0], rm[1])
        self.mains.sample(now, rm[2])

    def protect_step(self, now):
        inp = self.prot.inputs
        inp.btv.copy_from(self.btv.condition(now))
        inp.remote_on = self.remote.on(now)
        inp.remote_known = self.remote.known()
        inp.mains = self.mains.present(now)
        role = self.role
        inp.ac_in = role.ac_in
        inp.multi_present = role.multi_present
        inp.multi_version = role.multi_version
        inp.gx_request = role.gx_request
        inp.dmc_present = role.dmc
        inp.dmc_request = role.dmc_request
        out = self.prot.step(now, inp)
        if not self.halted:
            outputs = self.board.outputs
            outputs.set(LOAD_DISCONNECT, out.load == HIGH)
            outputs.set(CHARGE_DISCONNECT, out.charge == HIGH)
            outputs.set(PRE_ALARM, out.prealarm == HIGH)
        role.set_protection(out)
        if out.changed & CH_LATCH:
            self._latch_dirty = True

    def bus_step(self, now):
        port = self.port
        # A sync read now arrived at most this long ago: only then is its slot still open.
        fresh = time.ticks_diff(now, self._rx_at) <= SLOT_MS
        self._rx_at = now
        if port.sending:
            port.finish(now)
            return
        role = self.role
        for _ in range(_RX_CHUNKS):
            n = port.read(now)
            if not n:
                break
            role.feed(port.rx, n, now)
        panel = self.panel
        if panel is not None:
            for _ in range(_RX_CHUNKS):
                n = panel.read(now)
                if not n:
                    break
                role.feed_panel(panel.rx, n, now)
        ev = role.tick(now)
        if ev:
            self._role_events(now, ev)
        if role.slot_open:
            self.bus_tx_start(now, fresh)

    def _role_events(self, now, ev):
        role = self.role
        log = self.log
        if ev & EV_MULTI_PRESENT:
            log.record(now, EV_MULTI_UP, 0, 0)
        if ev & EV_MULTI_ABSENT:
            log.record(now, EV_MULTI_DOWN, 0, 0)
        if ev & EV_VERSION:
            log.record(now, EV_MULTI_VERSION, 0, role.version_full)
        if ev & EV_PROBE:
            log.record(now, EV_BMS_PROBE, 0, 1 if role.transmit else 0)
        if ev & EV_REQUEST:
            log.record(now, EV_CONTROL_REQUEST, 0, role.last_request)

    def bus_tx_start(self, now, fresh=True):
        """Start this slot's frame, if any; True when a frame went out (bus_step polls txdone).

        fresh: the previous read was at most SLOT_MS ago, so the sync just read is that recent."""
        role = self.role
        port = self.port
        n = role.take(now, role.frame, fresh and port.quiet())
        if not n:
            return False
        port.send(role.frame, n, now)
        return True

    def leds_step(self, now):
        out = self.out
        leds = self.board.leds
        p = self.patterns
        leds.set(0, p.level(out.led_status, now))
        leds.set(1, p.level(out.led_cell, now))
        leds.set(2, p.level(out.led_high, now))

    def log_step(self, now):
        """Flash writes live here only: the event log and the latched-fault record."""
        if self._latch_dirty:
            self._latch_dirty = False
            self.latch.save(self.out.latched, self.out.latch_reason)
        self.log.drain(self.events.append)

    def supervisor_step(self, now):
        wd = self.wd
        wd.start()
        if not wd.supervise(now) and not self.halted:
            # A task stopped: nothing it decides can be trusted any more. Outputs floating now,
            # and they stay so (protect no longer drives them) until the watchdog resets.
            self.halted = True
            self.board.safe()
            self.log.record(now, EV_TASK_STALE, 0, wd.stale)

    def low_power(self):
        return self.out.low_power and not self.role.multi_present

    def idle_step(self, now):
        if self.low_power():
            self.board.lightsleep(_SLEEP_MS)

    # ---- failure ----
    def fail(self, exc):
        """A step raised: outputs floating first, then log, flush and reset."""
        self.crashed = exc
        try:
            self.board.safe()
        finally:
            try:
                now = self.ticks()
                self.log.record(now, EV_CRASH, 0, 0)
                self.log.drain(self.events.append)
            finally:
                self.board.reset()

    # ---- tasks ----
    async def _every(self, i, step):
        wd = self.wd
        period = PERIODS[i]
        while True:
            now = self.ticks()
            try:
                step(now)
            except Exception as e:
                self.fail(e)
            wd.check_in(i, now)
            if i == T_BUS:
                if self.port.sending:
                    await asyncio.sleep_ms(0)
                elif self.role.multi_present or not self.out.low_power:
                    # Syncs coming: read within 2 ms of each (the slot), sleep in between.
                    await asyncio.sleep_ms(self.role.poll_ms(now, period[0]))
                else:
                    await asyncio.sleep_ms(period[1])
            elif i == T_IDLE:
                # Awake 1 ms after a light sleep; with nothing to sleep for (the Multi's syncs
                # need the bus task), wake no more often than in normal mode.
                await asyncio.sleep_ms(period[1] if self.low_power() else period[0])
            else:
                await asyncio.sleep_ms(period[1] if self.out.low_power else period[0])

    def start(self):
        """Create the tasks on the running event loop."""
        steps = (
            self.inputs_step,
            self.protect_step,
            self.bus_step,
            self.leds_step,
            self.log_step,
            self.supervisor_step,
            self.idle_step,
        )
        for i in range(len(steps)):
            self.tasks.append(asyncio.create_task(self._every(i, steps[i])))

    async def run(self):
        self.start()
        while True:
            await asyncio.sleep_ms(60_000)
