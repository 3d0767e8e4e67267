"""The application: asyncio tasks wiring firmware/core, firmware/bms and firmware/hw.

    from firmware.app import App
    app = App(board, settings, ticks_ms=time.ticks_ms, root="/")
    asyncio.run(app.run())          # main.py; app.start() only creates the tasks

Construction reads the latched-fault record and the boot counter from `root` (latch.bin), opens
the event log (events.log), floats every output and builds everything once; nothing is allocated
per tick afterwards. The settings are read then and not kept (on a board main.py lets their
module go). The watchdog starts with the first supervisor step.

Tasks (one thin loop around each step method, periods in PERIODS): inputs, protect, bus, leds,
log, supervisor, idle. What each does, how the two VE.Bus ports are served (the RX-idle IRQs),
low power and virtual time: docs/firmware.md.
"""

import asyncio
import time

from micropython import const

from firmware.bms.role import (
    EV_MULTI_ABSENT,
    EV_MULTI_PRESENT,
    EV_PROBE,
    EV_REQUEST,
    EV_REQUEST_DROPPED,
    EV_VERSION,
    POLL_MAX_MS,
    REQUEST_HOLD_MS,
    SLOT_MS,
    SYNC_GUARD_MS,
    BmsRole,
)
from firmware.core.btv import BtvDecoder
from firmware.core.eventfile import EventFile
from firmware.core.events import EventLog
from firmware.core.latch import LatchStore
from firmware.core.leds import Leds as LedPatterns
from firmware.core.mains import Mains
from firmware.core.protection import Protection
from firmware.core.remote import Remote
from firmware.logwriter import LogWriter

# firmware/core/codes.py's numbers (tests/host/test_consts.py keeps the copies equal)
_HIGH = const(1)
_CH_CHARGE = const(0x02)
_CH_LATCH = const(0x10)
_CH_LOAD = const(0x01)
_CH_PREALARM = const(0x04)
# firmware/hw/pins.py's output indices and firmware/hw/watchdog.py's times, copied
_LOAD_DISCONNECT = const(0)
_CHARGE_DISCONNECT = const(1)
_PRE_ALARM = const(2)
_STALL_MS = const(500)
_GUARD_MS = const(600)

# Board-side event codes: firmware/app_texts.py's (with their words; the board never imports
# it), copied (tests/host/test_consts.py keeps the copies equal).
_EV_CRASH = const(32)
_EV_WATCHDOG_RESET = const(33)
_EV_MULTI_UP = const(34)
_EV_MULTI_DOWN = const(35)
_EV_MULTI_VERSION = const(36)
_EV_BMS_PROBE = const(37)
_EV_TASK_STALE = const(38)
_EV_CONTROL_REQUEST = const(39)
_EV_CONTROL_DROPPED = const(42)
_EV_ASSISTANT_NEEDED = const(43)
_EV_HANG = const(44)

# The tasks: indices into TASK_NAMES and PERIODS (tests find them with TASK_NAMES.index)
_T_INPUTS = const(0)
_T_PROTECT = const(1)
_T_BUS = const(2)
_T_LEDS = const(3)
_T_LOG = const(4)
_T_SUPERVISOR = const(5)
_T_IDLE = const(6)
TASK_NAMES = ("inputs", "protect", "bus", "leds", "log", "supervisor", "idle")
# (period ms, period in low-power mode, longest gap between check-ins: the task's longest
# period + STALL_MS, see firmware/hw/watchdog.py for the gaps measured)
PERIODS = (
    (50, 50, 50 + _STALL_MS),  # at most: edges come by pin IRQ (App.inputs_ms)
    (50, 100, 100 + _STALL_MS),  # timers, the bus role's news: a debounced input runs it at once
    (2, POLL_MAX_MS, POLL_MAX_MS + _STALL_MS),  # 2 around each sync (poll_ms); IRQ: sleep_after
    (200, 200, 200 + _STALL_MS),  # at most: until the status LED's next change (sleep_after)
    (250, 250, 250 + _STALL_MS),  # drains the event log: writes only when there are events
    (100, 100, 100 + _STALL_MS),
    (250, 1, 250 + _STALL_MS),  # low power: awake 1 ms after each _SLEEP_MS light sleep
)
_FW_ASSISTANT = const(415)  # Multi firmware from here to _FW_NATIVE needs an assistant (manual)
_FW_NATIVE = const(489)
INPUTS_MIN_MS = const(10)  # the inputs period's floor; an edge's output follows its debounce
# within this (the task's step that sees the edge comes at most a period after it, inputs_ms)
_TX_RELAY = const(5)  # firmware/core/codes.py's (the role's last_tx)
_SLEEP_MS = const(15)  # one light sleep in low-power mode (below every low-power period)
_CH_OUTPUTS = const(_CH_LOAD | _CH_CHARGE | _CH_PREALARM)  # the bits of the three output pins
_CH_ALL = const(0xFF)  # every CH_* bit (protection's change bits)
_FOLLOW = const(0x100)  # protect_follow owed (App._owed)
_DECIDE = const(0x200)  # Protection.step owed
_SLICES = const(_FOLLOW | _DECIDE)
_PANEL_POLL_MS = const(5)  # without the RX-idle IRQ: a panel port in use is read this often
_BUS_IRQ_MS = const(100)  # the bus task's period with the RX-idle IRQ and one port
_RX_CHUNKS = const(8)  # chunks read per bus_rx step at most (8 x 128 bytes: 40 ms of traffic)


class App:
    def __init__(self, board, settings, ticks_ms=time.ticks_ms, root="/", log_size=64):
        self.board = board
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
        self.inp = self.prot.inputs
        self.inp.btv = self.btv.cond  # condition() fills it in place: nothing to copy
        self._btv_decoded = None  # btv.filled_from as of the last Protection.step
        self._owed = 0  # what the protect step owes: _DECIDE, _FOLLOW (+ CH_* bits since)
        self.remote = Remote(settings)
        self.mains = Mains(settings)
        self.patterns = LedPatterns()
        self.port = board.ports[0]
        panel = board.ports[1] if len(board.ports) > 1 else None
        # With a Remote panel port, frames cross between the ports (firmware/bms/panel.py); its
        # modules are imported only then: a one-port board spends no RAM on them.
        relay = None
        if panel is not None and settings.vebus_mode == "bms":
            from firmware.bms.relay import Relay

            relay = Relay()
        self.role = BmsRole(settings, relay)
        self.writer = LogWriter(self.log, self.events, self.latch, self.role, now)
        self.panel = None
        if panel is not None:
            from firmware.bms.panel import Panel

            self.panel = Panel(self.role, panel, settings, ticks_ms)
        self.wd = board.watchdog
        self.wd.on_hang = self._hung  # bound once: the guard's hard IRQ allocates nothing
        for i in range(len(TASK_NAMES)):
            self.wd.register(TASK_NAMES[i], PERIODS[i][2], now)
        self.halted = False  # a task stopped checking in: outputs held floating until reset
        self._hang_logged = False
        self.crashed = None
        self._rx_at = now
        self._slept = False
        self._led_cell = -1  # the cell LEDs' patterns last shown (-1: none yet)
        self._led_high = -1
        self._log_wait = 0  # ms the log task waits for its time in the sync cycle (log_step)
        # The Multi port's RX-idle IRQ, where the UART has one: its handler reads the port and
        # sends this slot's frame the moment a sync has arrived, whatever task is running. On
        # from start() (rx_irq says whether it is).
        self._rx_idle = self.multi_rx_idle  # bound methods made once: no allocation per read
        self._panel_idle = self.panel_rx_idle
        self._feed = self.role.feed
        self.rx_irq = False
        board.btv.on_edge(self.btv_edge, self.btv.wire.used_mask)  # soft IRQs
        # Remote L, H and the mains detector (bits 0..2) as read at their last edge (-1: none
        # since the last step), its tick, and when its debounce ends.
        self._rm_edge = -1
        self._rm_at = now
        self._rm_settle = now
        board.remote_mains.on_edge(self.rm_edge, 7 if settings.mains_detector else 3)
        # The inputs task sleeps at most its period, never longer than the debounce: its step
        # then sees every edge before that edge's debounce ends and wakes again just then.
        self._debounce_ms = settings.debounce_ms
        d = max(INPUTS_MIN_MS, settings.debounce_ms)
        self.inputs_ms = (min(PERIODS[_T_INPUTS][0], d), min(PERIODS[_T_INPUTS][1], d))
        self.tasks = []
        if board.watchdog_reset():
            self.log.record(now, _EV_WATCHDOG_RESET, 0, 0)

    # ---- steps (one per task; `now` from the injected clock) ----
    def btv_edge(self, _pin):
        """A BTV input changed (soft IRQ): its levels at the edge's tick."""
        self.btv.edge(self.ticks(), self.board.read_btv())

    def rm_edge(self, _pin):
        """Remote on/off or the mains detector changed (soft IRQ): its levels at the edge's
        tick (their debounce runs from there, as a BTV edge's)."""
        at = self.ticks()
        self._rm_at = at
        self._rm_settle = time.ticks_add(at, self._debounce_ms)
        self._rm_edge = self.board.remote_mains.read_bits()

    def _remote_mains(self, now, l_level, h_level, mains):
        moved = self.remote.sample(now, l_level, h_level)
        if self.mains.sample(now, mains):
            moved = True
        return moved

    def inputs_step(self, now):
        b = self.board
        b.btv_test.value(self.btv.drive(now))
        moved = 1 if self.btv.sample(now, b.read_btv()) else 0
        lv = self._rm_edge
        if lv >= 0:  # an edge's levels first, at its tick
            self._rm_edge = -1
            if self._remote_mains(self._rm_at, lv & 1, lv >> 1 & 1, lv >> 2 & 1):
                moved |= 2
        rm = b.read_remote_mains()
        if self._remote_mains(now, rm & 1, rm >> 1 & 1, rm >> 2 & 1):
            moved |= 2
        if moved:  # a debounced input changed: the outputs follow now, not a protect tick later
            self.protect_edge(now, moved)

    def protect_step(self, now):
        """The whole protect step at once: read the inputs, and when Protection.step is owed, run
        it, drive the pins and tell the rest. The tasks run it in slices (_every)."""
        self.protect_read(now)
        while self.protect_slice(now):
            pass

    def protect_edge(self, now, moved):
        """After a debounced change (the inputs task): what moved read, Protection.step and the
        pins at once; the next step too when that one changes more (Protection.rerun: the
        pre-alarm output follows the loads on)."""
        if self.protect_read(now, moved):
            self.protect_decide(now)
            if self.prot.rerun:
                self._owed |= _DECIDE

    def protect_read(self, now, moved=7):
        """The protect task's first slice: True when Protection.step is owed (inp filled in):
        one of its inputs changed, or it is due (a timer, a change in its last step, once a
        second: Protection.due); else it would change nothing and is skipped. `moved` says what
        to read: bit 0 the BTV lines, bit 1 remote on/off and the mains detector, bit 2 the bus
        role's news and due() (the inputs task's step leaves them to the protect task)."""
        news = False
        inp = self.inp
        if moved & 1:
            btv = self.btv
            btv.condition(now)  # fills inp.btv in place; btv.filled_from tells a change
            if btv.filled_from != self._btv_decoded:
                self._btv_decoded = btv.filled_from
                news = True
        if moved & 2:
            on = self.remote.on(now)
            known = self.remote.known()
            mains = self.mains.present(now)
            if on != inp.remote_on or known != inp.remote_known or mains != inp.mains:
                inp.remote_on = on
                inp.remote_known = known
                inp.mains = mains
                news = True
        if moved & 4:
            role = self.role
            if (
                role.ac_in != inp.ac_in
                or role.multi_present != inp.multi_present
                or role.multi_version != inp.multi_version
                or role.multi_mode != inp.multi_mode
                or role.gx_request != inp.gx_request
                or role.dmc != inp.dmc_present
                or role.dmc_request != inp.dmc_request
            ):
                inp.ac_in = role.ac_in
                inp.multi_present = role.multi_present
                inp.multi_version = role.multi_version
                inp.multi_mode = role.multi_mode
                inp.gx_request = role.gx_request
                inp.dmc_present = role.dmc
                inp.dmc_request = role.dmc_request
            elif not news and not self.prot.due(now):
                return False
        elif not news:
            return False
        self._owed |= _DECIDE
        return True

    def protect_decide(self, now):
        """Protection.step and the output pins, at once after protect_read (the second slice);
        returns the CH_* bits of what changed."""
        out = self.prot.step(now, self.inp)
        ch = out.changed
        if ch & _CH_OUTPUTS and not self.halted:  # a pin changes only with its bit
            outputs = self.board.outputs
            if ch & _CH_LOAD:
                outputs.set(_LOAD_DISCONNECT, out.load == _HIGH)
            if ch & _CH_CHARGE:
                outputs.set(_CHARGE_DISCONNECT, out.charge == _HIGH)
            if ch & _CH_PREALARM:
                outputs.set(_PRE_ALARM, out.prealarm == _HIGH)
        owed = self._owed & ~_DECIDE
        if ch or owed & _FOLLOW:
            self._owed = owed | ch | _FOLLOW
        else:  # nothing changed nor waits to be told: the follow's checks now, no slice of theirs
            self._owed = owed
            self.protect_follow(now)
        return ch

    def protect_slice(self, now):
        """The protect step's next owed slice, if any: Protection.step and the pins, else telling
        the rest. The inputs and protect tasks run it after an await (_every); True if one ran."""
        owed = self._owed
        if owed & _DECIDE:
            self.protect_decide(now)
        elif owed & _FOLLOW:
            self.protect_follow(now)
        else:
            return False
        return True

    def protect_follow(self, now):
        """What the last Protection.steps decided, told to the rest (the third slice): the bus
        role, the Remote panel port, the latched-fault record, the cell LEDs."""
        ch = self._owed & _CH_ALL
        self._owed &= _DECIDE  # a read in between owes a step still
        out = self.out
        role = self.role
        # The role reads the mode, the rate and the fields the CH_* bits cover.
        if ch or out.multi_mode != role.mode or out.charge_rate != role.charge_rate:
            role.set_protection(out)
        if self.panel is not None:  # its ceiling and remote off: no change bit covers them
            self.panel.set_protection(out)
        if ch & _CH_LATCH:
            self.writer.latch_dirty = True
        if out.led_cell != self._led_cell or out.led_high != self._led_high:
            self._cell_leds(now)  # they follow at once, as the outputs do

    def bus_step(self, now):
        port = self.port
        # A sync read now arrived at most this long ago: only then is its slot still open.
        fresh = time.ticks_diff(now, self._rx_at) <= SLOT_MS
        self._rx_at = now
        role = self.role
        if not self.rx_irq:
            role.timed = fresh  # a sync read after a longer gap tells nothing of its period
            self._read(port, self._feed, now)
        ev = role.tick(now)
        if ev:
            self._role_events(now, ev)
        if role.slot_open and not self.rx_irq and not self.halted:
            self.bus_tx_start(now, fresh)
        if self.panel is not None and not self.rx_irq:
            self.panel.serve(now)

    def _read(self, port, feed, now):
        rx = port.rx
        for _ in range(_RX_CHUNKS):
            n = port.read(now)
            if not n:
                break
            feed(rx, n, now)
            if n < len(rx):  # all there was (more makes another RX-idle IRQ or step)
                break

    def multi_rx_idle(self, _uart):
        """The Multi port went idle after bytes (soft IRQ): decode them; right after a sync, this
        slot's frame goes out from here, a fixed time after the sync's end.

        The only reader of that port while the IRQ is on, so its decoder is never re-entered;
        what it shares with the tasks (the role's fields) are single attribute reads/writes."""
        if self.halted:  # stale decisions: the Multi hears nothing rather than them
            return
        try:
            now = self.ticks()
            self.role.timed = True  # read as it arrived: it tells the sync period
            port = self.port
            for _ in range(_RX_CHUNKS):
                n = port.read(now)
                if not n:
                    break
                self._feed(port.rx, n, now)
                if n < len(port.rx):
                    continue  # all there was, or the Multi's next frame coming: read on
                if self.panel is not None and not self.role.slot_open and port.uart.any():
                    # a backlog (a saturated window): relay what is decoded while the rest is
                    self.panel.serve(now, False)  # (no guard: see firmware/bms/panel.py)
            if self.role.slot_open and self.bus_tx_start(now):
                # Its echo is in (the last byte lands as its stop bit ends): read now, so the
                # line's going idle after it makes no RX-idle IRQ (one soft IRQ a frame less)
                n = port.read(now)
                if n:
                    self._feed(port.rx, n, now)
            # After the slot's frame, never before it; not while the Multi's next frame is half
            # read: its own RX-idle IRQ relays it with these, in one write.
            if self.panel is not None and not self.role.decoder.pending():
                self.panel.serve(now)
        except Exception as e:
            self.fail(e)

    def panel_rx_idle(self, _uart):
        """The panel port went idle after bytes (a device's frame, or the echo of ours): read
        it and send what waits for it (soft IRQ, as multi_rx_idle: the two never interleave)."""
        try:
            self.panel.idle()  # pyright: ignore[reportOptionalMemberAccess]
        except Exception as e:
            self.fail(e)

    def _role_events(self, now, ev):
        role = self.role
        log = self.log
        if ev & EV_MULTI_PRESENT:
            log.record(now, _EV_MULTI_UP, 0, 0)
        if ev & EV_MULTI_ABSENT:
            log.record(now, _EV_MULTI_DOWN, 0, 0)
        if ev & EV_VERSION:
            log.record(now, _EV_MULTI_VERSION, 0, role.version_full)
            if _FW_ASSISTANT <= role.multi_version < _FW_NATIVE:
                # The manual: 415..488 need the assistant. Whether it is installed cannot be
                # read (docs/protocol.md, "Assistants"): the user is told, nothing is guessed.
                log.record(now, _EV_ASSISTANT_NEEDED, 0, role.multi_version)
        if ev & EV_PROBE:
            log.record(now, _EV_BMS_PROBE, 0, 1 if role.transmit else 0)
        if ev & EV_REQUEST:
            log.record(now, _EV_CONTROL_REQUEST, 0, role.last_request)
        if ev & EV_REQUEST_DROPPED:
            log.record(now, _EV_CONTROL_DROPPED, 0, REQUEST_HOLD_MS // 1000)

    def bus_tx_start(self, now, fresh=True):
        """Send this slot's frame, if any; True when a frame went out (DE is low again).

        fresh: the previous read was at most SLOT_MS ago, so the sync just read is that recent."""
        role = self.role
        port = self.port
        n = role.take(now, role.frame, fresh and port.quiet())
        if not n:
            return False
        if not port.send(role.frame, n, now):
            role.unsent(now)  # its slot was over (rs485.SLOT_LAST_US): due in the next slot
            return False
        if role.relay is not None and role.last_tx != _TX_RELAY:
            role.relay.own(role.frame, n)  # the panel side hears the BMS too
        return True

    def leds_step(self, now):
        self.board.leds.set(0, self.patterns.level(self.out.led_status, now))
        self._cell_leds(now)

    def _cell_leds(self, now):
        out = self.out
        leds = self.board.leds
        p = self.patterns
        self._led_cell = out.led_cell
        self._led_high = out.led_high
        leds.set(1, p.level(out.led_cell, now))
        leds.set(2, p.level(out.led_high, now))

    def log_step(self, now):
        """Flash writes live here only (firmware/logwriter.py: after the BMS's slot)."""
        if self.panel is not None:
            self.panel.log_events(now, self.log)
        if self._panel_sending():
            self._log_wait = 1
            return
        self._log_wait = self.writer.step(now, self.out)

    def _panel_sending(self):
        """A relayed frame on the wire, its DE to be dropped by a timer IRQ (firmware/hw/rs485.py):
        no flash write (it stops every IRQ) nor light sleep (the UART stops) may start now."""
        return self.panel is not None and self.panel.port.sending()

    def supervisor_step(self, now):
        wd = self.wd
        wd.start()
        if not wd.supervise(now) and not self.halted:
            # A task stopped: nothing it decides can be trusted any more. Outputs floating now,
            # and they stay so (protect no longer drives them) until the watchdog resets.
            self.halted = True
            self.board.safe()
            self.log.record(now, _EV_TASK_STALE, 0, wd.stale)
        elif wd.tripped and not self._hang_logged:  # the hang guard floated them (no log in IRQ)
            self._hang_logged = True
            self.log.record(now, _EV_HANG, 0, _GUARD_MS)

    def _hung(self):
        """The watchdog's hang guard (hard IRQ: a busy loop stopped every task): outputs
        floating at once, held so until the watchdog resets the chip."""
        self.halted = True
        self.board.safe()

    def idle_step(self, now):
        """Light sleep in low-power mode, as long as the bus duties allow; never mid-frame."""
        self._slept = False
        if self.out.low_power:
            ms = self.role.sleep_ms(now, _SLEEP_MS)
            if ms > 0 and not self._panel_sending():
                self._slept = self.board.lightsleep(ms)

    def stop(self):
        """The app stops (Ctrl-C on the console): outputs floating, and nothing more on the bus
        (the Multi port's IRQ would otherwise keep answering syncs under the REPL)."""
        self.halted = True
        self.board.safe()
        self.port.rx_idle_off()

    # ---- failure ----
    def fail(self, exc):
        """A step raised: outputs floating first, then log, flush and reset."""
        self.crashed = exc
        try:
            self.board.safe()
        finally:
            try:
                now = self.ticks()
                self.log.record(now, _EV_CRASH, 0, 0)
                self.events.save(self.log)
            finally:
                self.board.reset()

    # ---- tasks ----
    async def _every(self, i, step):
        wd = self.wd
        while True:
            now = self.ticks()
            try:
                step(now)
                # The protect step in slices, other tasks' steps between them: Protection.step
                # after the protect task's read; what it decided told after the pins.
                while i <= _T_PROTECT and self._owed & _SLICES:
                    await asyncio.sleep_ms(0)
                    self.protect_slice(self.ticks())  # (the other task may have run it meanwhile)
            except Exception as e:
                self.fail(e)
            wd.check_in(i, now)
            await asyncio.sleep_ms(self.sleep_after(i, now))

    def sleep_after(self, i, now):
        """How long task i sleeps after its step at `now` (ms)."""
        period = PERIODS[i]
        low = self.out.low_power
        if i == _T_BUS:
            role = self.role
            if self.rx_irq and self.panel is None:
                # the IRQ reads and answers the Multi port: the task only times out presence
                # and requests (seconds) and logs what the role heard
                return _BUS_IRQ_MS
            if self.rx_irq or (low and not role.multi_present):
                # the IRQ reads the Multi port: the task only reads the panel, presence
                return period[1]
            if low:
                # Only the syncs around the next duty are read within 2 ms of arrival.
                ms = role.sleep_ms(now, POLL_MAX_MS)
                return ms if ms > 0 else role.poll_ms(now, period[0])
            if self.panel is not None and self.panel.busy():
                return period[0]  # the Remote panel port has bytes to read or frames to send
            # Syncs coming: read within 2 ms of each (the slot), sleep in between.
            ms = role.poll_ms(now, period[0])
            if ms > _PANEL_POLL_MS and self.panel is not None and self.panel.active(now):
                # a panel device answers the relayed sync a few ms after it: read it in this
                # cycle, so its frame goes out in the next slot, not the one after
                return _PANEL_POLL_MS
            return ms
        if i == _T_LEDS:  # until the status LED's next change (its check-in: each period)
            ms = self.patterns.next_ms(self.out.led_status, now)
            return ms if ms < period[0] else period[0]
        if i == _T_LOG and self._log_wait:
            return self._log_wait
        if i == _T_IDLE:
            # Awake 1 ms after a light sleep; kept awake by a slot coming, look again after it;
            # in normal running, rarely.
            if self._slept:
                return period[1]
            return SYNC_GUARD_MS if low else period[0]
        if i == _T_INPUTS:
            # From step start to step start, or sooner when an edge's debounce ends first.
            ms = self.inputs_ms[1 if low else 0]
            wake = time.ticks_diff(self.btv.settle_at, now)
            if 0 < wake < ms:
                ms = wake
            wake = time.ticks_diff(self._rm_settle, now)
            if 0 < wake < ms:
                ms = wake
            ms -= time.ticks_diff(self.ticks(), now)
            return ms if ms > 0 else 0
        return period[1] if low else period[0]

    def start(self):
        """Create the tasks on the running event loop, and turn the RX-idle IRQs on.

        Not before: a sync that came while main.py still builds the app and lets the boot
        check's modules go was answered from an IRQ held off by those C calls and run at half
        speed, its frame 2.6-4.4 ms after the sync (emulated Pico; slot goal 2 ms)."""
        self.rx_irq = self.port.on_rx_idle(self._rx_idle)
        if self.rx_irq and self.panel is not None:
            self.panel.port.on_rx_idle(self._panel_idle, False)
        steps = (
            self.inputs_step,
            self.protect_read,
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
