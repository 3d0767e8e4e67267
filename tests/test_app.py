"""firmware/app.py step by step (no event loop): the slot needs a fresh read; no allocation."""

import gc
import time

from vmtest import alloc_bytes, fresh_root, locked, requires_vm

from firmware.hw.rs485 import SLOT_US
from vebus import encode_sync, peers

machine = __import__("machine")  # the fake of tests/fakes (typed as a plain module)


class _BusUart:
    """A UART stand-in that allocates nothing: a sync frame arrives when told, writes echo."""

    def __init__(self):
        self.frame = bytearray(20)
        pay = bytearray(8)
        self.n = encode_sync(self.frame, 5, pay, peers.build_sync(pay, 0, 0))
        self.i = self.n  # nothing pending
        self.sent = bytearray(64)
        self.echo = 0
        self.echo_i = 0
        self.writes = 0
        self.write_us = 0

    def arrive(self):
        self.i = 0

    def write(self, buf, off, n):  # stream write(buf, off, max_len)
        for k in range(n):
            self.sent[k] = buf[off + k]
        self.echo = n
        self.echo_i = 0
        self.writes += 1
        self.write_us = time.ticks_us()  # pyright: ignore[reportAttributeAccessIssue]
        return n

    def flush(self):
        pass

    def any(self):
        return (self.echo - self.echo_i) + (self.n - self.i)

    def readinto(self, buf, n):
        k = 0
        while k < n and self.echo_i < self.echo:
            buf[k] = self.sent[self.echo_i]
            self.echo_i += 1
            k += 1
        while k < n and self.i < self.n:
            buf[k] = self.frame[self.i]
            self.i += 1
            k += 1
        return k


class _IrqBusUart(_BusUart):
    """The same, with rp2's RX-idle IRQ: the handler runs when the line goes idle after a frame."""

    IRQ_RXIDLE = 64

    def __init__(self):
        super().__init__()
        self.handler = None

    def irq(self, handler, trigger):
        assert trigger == (self.IRQ_RXIDLE if handler else 0)
        self.handler = handler

    def arrive(self):
        self.i = 0
        if self.handler is not None:
            self.handler(self)


class _HardIrqBusUart(_IrqBusUart):
    """rp2's UART: the RX-idle IRQ may be hard (it runs the moment the line goes idle)."""

    def irq(self, handler, trigger, hard=False):
        assert trigger == (self.IRQ_RXIDLE if handler else 0) and hard == bool(handler)
        self.handler = handler


class _Clock:
    def __init__(self):
        self.t = 1000

    def ticks_ms(self):
        return self.t


def _app(uart=None):
    import startup
    from firmware.core.settings import Settings

    machine.reset_fakes()
    for p in (16, 17, 18):
        machine.Pin(p).external = 1
    machine.Pin(10).external = 1
    machine.Pin(11).external = 1
    clock = _Clock()
    s = Settings()
    s.set("vebus_mode", "bms")
    gc.collect()  # a Pico-sized heap: compiling the firmware's modules needs the room
    app = startup.build(fresh_root("app-steps"), clock.ticks_ms, s)
    uart = uart or _BusUart()
    app.port.uart = uart
    app.port._write = uart.write
    app.port._flush = uart.flush
    app.rx_irq = app.port.on_rx_idle(app.multi_rx_idle)
    # A loaded host may take longer than a Pico's SLOT_LAST_US to decode and build a frame: the
    # slot's last start is left to its own test (test_a_frame_whose_slot_is_over_is_not_sent)
    app.port.slot_last_us = 1 << 20
    panel = app.board.ports[1]  # the Remote panel port: nothing arrives, its writes echo
    panel.uart = _BusUart()
    panel.uart.i = panel.uart.n
    panel._write = panel.uart.write
    panel._flush = panel.uart.flush
    return app, clock, uart


def test_a_sync_is_answered_only_when_read_within_the_slot():
    app, clock, uart = _app()
    app.bus_step(clock.t)
    clock.t += 10
    uart.arrive()
    app.bus_step(clock.t)  # read 10 ms after the previous read: the sync may be 10 ms old
    assert uart.writes == 0
    clock.t += 8
    app.bus_step(clock.t)
    clock.t += 2
    app.bus_step(clock.t)
    clock.t += 2
    uart.arrive()  # the next sync (a copy of one 6 ms old or less would open no slot)
    app.bus_step(clock.t)  # read 2 ms after the previous read: still its slot
    assert uart.writes == 1 and uart.sent[2] == 0xFE and uart.sent[3] == 6  # N + 1
    assert machine.pins[2].value() == 0  # the frame is out: DE low
    app.bus_step(clock.t)  # the echo consumed
    assert app.port.collisions == 0 and app.role.multi_present


def test_with_the_rx_idle_irq_the_sync_is_answered_from_the_irq():
    # vebus.md: a node's frame follows the sync's FF. With the RX-idle IRQ the frame goes out
    # when the line goes idle after the sync, whatever task runs, not at the bus task's next read.
    app, clock, uart = _app(_IrqBusUart())
    assert app.rx_irq
    app.bus_step(clock.t)
    clock.t += 10  # the bus task has not run for 10 ms: no matter, the IRQ reads the sync
    t0 = time.ticks_us()  # pyright: ignore[reportAttributeAccessIssue]
    uart.arrive()
    assert uart.writes == 1 and uart.sent[2] == 0xFE and uart.sent[3] == 6  # N + 1
    # a fixed offset: the frame starts SLOT_US after the IRQ, whatever building it took
    assert time.ticks_diff(uart.write_us, t0) >= SLOT_US
    assert machine.pins[2].value() == 0 and app.role.multi_present
    assert uart.echo_i == uart.echo  # its echo read at once, in the same IRQ
    uart.i = uart.n - 2  # two bytes in, the line not idle yet
    app.bus_step(clock.t)  # presence and the panel port only: the Multi port is the IRQ's
    assert uart.any() == 2 and uart.writes == 1
    clock.t += 20
    uart.arrive()  # the next sync: the echo consumed first, then this sync answered
    assert uart.writes == 2 and app.port.collisions == 0 and app.port.echo_missing == 0


def test_steady_state_steps_do_not_allocate():
    requires_vm()
    app, clock, uart = _app()
    wd = app.wd

    def ticks(n):
        for _ in range(n):
            clock.t += 19
            t = clock.t
            app.inputs_step(t)
            app.protect_step(t)
            app.bus_step(t)
            uart.arrive()
            clock.t += 1
            t = clock.t
            app.bus_step(t)
            app.bus_step(t)
            app.leds_step(t)
            for i in range(len(wd.last)):  # the tasks' own check-ins (no event loop here)
                wd.check_in(i, t)
            app.supervisor_step(t)

    ticks(200)  # start-up done, version queries out, outputs on
    app.log_step(clock.t)  # flash writes (they allocate) stay in the log task
    assert machine.pins[13].is_driven_high() and uart.writes >= 10
    assert alloc_bytes(ticks, 100) == 0

    def ticks_100():
        ticks(100)

    locked(ticks_100)
    assert app.port.collisions == 0 and not app.halted and machine.wdt.feeds > 100


def test_rx_idle_irq_does_not_allocate():
    requires_vm()
    _rx_idle_irq_allocates_nothing(_IrqBusUart())


def test_hard_rx_idle_irq_and_its_handler_do_not_allocate():
    # rp2: the hard IRQ (stamp, bytes waiting, schedule) runs where allocating raises
    from firmware.hw import rs485

    requires_vm()
    rs485.schedule = _run_now  # pyright: ignore[reportAttributeAccessIssue]
    try:
        _rx_idle_irq_allocates_nothing(_HardIrqBusUart())
    finally:
        rs485.schedule = __import__("micropython").schedule  # pyright: ignore[reportAttributeAccessIssue]


def _run_now(f, arg):
    f(arg)


def _rx_idle_irq_allocates_nothing(irq_uart):
    app, clock, uart = _app(irq_uart)

    def syncs(n):
        for _ in range(n):
            clock.t += 20
            app.protect_step(clock.t)
            uart.arrive()  # the IRQ: sync read, this slot's frame out
            app.bus_step(clock.t)

    syncs(100)
    assert uart.writes >= 5
    assert alloc_bytes(syncs, 50) == 0

    def syncs_50():
        syncs(50)

    locked(syncs_50)
    assert app.port.collisions == 0


def test_hang_guard_floats_the_outputs_from_its_irq_without_allocating():
    # A busy loop stops every task: the guard's hard timer IRQ (no heap there) floats them.
    requires_vm()
    app, clock, uart = _app()
    app.board.outputs.set(0, True)
    wd = app.wd
    wd.clock = clock.ticks_ms
    wd.start()
    assert machine.timers[-1].hard and machine.pins[13].is_driven_high()
    clock.t += 500
    locked(wd.guard)
    assert machine.pins[13].is_driven_high()  # the supervisor fed 500 ms ago: no hang yet
    clock.t += 200
    locked(wd.guard)
    assert machine.pins[13].is_floating() and app.halted and not wd.supervise(clock.t)


class _CountOpens:
    """A stand-in for `open` in firmware/core/eventfile.py: counts the writes to flash."""

    def __init__(self):
        self.writes = 0

    def __call__(self, path, mode="r"):
        if "a" in mode or "w" in mode:
            self.writes += 1
        return open(path, mode)


def test_the_led_task_wakes_for_the_status_leds_flashes_only():
    # Manual 5.2: the status LED gives a short flash about every 10 s while the Multi is on.
    # The LED task sleeps until that LED's next change, at most its low-power period (its
    # watchdog check-in): each flash lasts its 60 ms to the ms, and the task wakes ~5 times a
    # second instead of 20 (the core's busy share).
    from firmware.app import PERIODS, TASK_NAMES
    from firmware.core.codes import PAT_HEARTBEAT

    T_LEDS = TASK_NAMES.index("leds")
    app, clock, _ = _app()
    app.out.led_status = PAT_HEARTBEAT
    led = machine.pins[app.board.profile["leds"][0][1]]
    wakes, lit, flashes = 0, None, []
    end = clock.t + 30_000
    while clock.t < end:
        app.leds_step(clock.t)
        wakes += 1
        if led.value() and lit is None:
            lit = clock.t
        elif not led.value() and lit is not None:
            flashes.append(clock.t - lit)
            lit = None
        ms = app.sleep_after(T_LEDS, clock.t)
        assert 0 < ms <= PERIODS[T_LEDS][1]
        clock.t += ms
    assert flashes == [60, 60, 60], flashes
    assert wakes <= 30_000 // PERIODS[T_LEDS][1] + 2 * len(flashes) + 1, wakes


def test_with_the_rx_idle_irq_and_one_port_the_bus_task_wakes_ten_times_a_second():
    # The RX-idle IRQ reads the Multi port and answers its syncs; the bus task is left the
    # timeouts (the Multi absent after 1 s without a sync: docs/protocol.md) and the log of
    # what the role heard: ten wake-ups a second do that (each costs the core a scheduler pass).
    from firmware.app import TASK_NAMES
    from firmware.app_texts import EV_MULTI_DOWN

    T_BUS = TASK_NAMES.index("bus")
    app, clock, _ = _synced_app()
    app.panel = None  # a board with one VE.Bus port
    last = app.role.last_sync  # the Multi goes quiet
    wakes = 0
    while app.role.multi_present and clock.t - last < 3000:
        app.bus_step(clock.t)
        wakes += 1
        clock.t += app.sleep_after(T_BUS, clock.t)
    down = [e[0] for e in app.log.entries() if e[1] == EV_MULTI_DOWN]
    assert down and 1000 < down[0] - last <= 1100, (down, last)
    assert wakes <= 12, wakes


def _synced_app():
    """An app that has heard three syncs 20 ms apart (its sync period known): app, clock, it."""
    app, clock, uart = _app(_IrqBusUart())
    for _ in range(3):
        clock.t += 20
        uart.arrive()
    return app, clock, app.role.sync_period


def test_the_event_log_is_written_after_the_slot_and_before_the_next_sync():
    # vebus.md: the BMS's frame follows the sync (a 20 ms cycle); a littlefs write is C code
    # (3-5 ms on the emulated Pico, bench_pico's log step) that the RX-idle soft IRQ cannot
    # interrupt: it goes after the slot, and ends before the next sync.
    from firmware.app import SLOT_MS, SYNC_GUARD_MS, TASK_NAMES
    from firmware.core import eventfile
    from firmware.logwriter import FLASH_MS

    T_LOG = TASK_NAMES.index("log")

    app, clock, p = _synced_app()  # the Multi's 20 ms, as the role measures it (+1 ms a sync)
    assert 20 <= p <= 21
    last = p - SYNC_GUARD_MS - FLASH_MS  # the write ends SYNC_GUARD_MS before the next sync
    opens = _CountOpens()
    eventfile.open = opens  # pyright: ignore[reportAttributeAccessIssue]
    try:
        app.log.record(clock.t, 2, 0, 0)
        sync = clock.t
        written = []
        for d in range(p):  # the log task woken at each ms of the cycle
            clock.t = sync + d
            before = opens.writes
            app.log_step(clock.t)
            if opens.writes > before:
                written.append(d)
                app.log.record(clock.t, 2, 0, 0)  # one more: encoded now, written from the
                app.log_step(clock.t)  # next step on (never two writes in one step)
                assert opens.writes == before + 1
            else:
                wait = app.sleep_after(T_LOG, clock.t)
                assert 0 < wait <= p and SLOT_MS < (d + wait) % p <= last, (d, wait)
        assert written == list(range(SLOT_MS + 1, last + 1)), written
        assert app.events.held()  # the last one, encoded, waits for the next cycle
        app.role.multi_present = False  # no syncs to keep clear of (once the boot's listening
        clock.t += 200  # for them is over): written at once
        before = opens.writes
        app.log_step(clock.t)
        assert not app.events.held() and opens.writes == before + 1
    finally:
        del eventfile.open  # pyright: ignore[reportAttributeAccessIssue]


def test_a_burst_of_events_goes_to_flash_one_write_a_sync_cycle():
    # A state change records several events at once; each littlefs write costs the same
    # whatever its length (firmware/core/eventfile.py): one batch a cycle, each after its slot,
    # so a burst never puts two writes in one cycle; every event reaches the file, in order.
    from firmware.app import SLOT_MS, TASK_NAMES
    from firmware.core import eventfile
    from firmware.core.eventread import records

    T_LOG = TASK_NAMES.index("log")

    app, clock, p = _synced_app()
    batch = app.events.batch
    opens = _CountOpens()
    eventfile.open = opens  # pyright: ignore[reportAttributeAccessIssue]
    try:
        app.log_step(clock.t)  # what start-up recorded: written (no Multi yet, or this cycle)
        while app.log.pending():
            clock.t += app.sleep_after(T_LOG, clock.t)
            app.log_step(clock.t)
        first = app.log.seq
        for k in range(2 * batch + 1):
            app.log.record(clock.t, 2, 0, k)
        sync = app.role.last_sync
        cycles = {}
        while (app.log.pending() or app.events.held()) and clock.t - sync < 10 * p:
            before = opens.writes
            app.log_step(clock.t)
            if opens.writes > before:
                assert opens.writes == before + 1  # one write a step
                d = clock.t - sync
                cycles[d // p] = cycles.get(d // p, 0) + 1
                assert d % p > SLOT_MS, d
            clock.t += app.sleep_after(T_LOG, clock.t)
        assert len(cycles) == 3 and set(cycles.values()) == {1}, cycles  # 3 writes, 3 cycles
        assert app.log.pending() == 0
        args = [r[2] for r in records(app.events.path)][-(2 * batch + 1) :]
        assert args == list(range(2 * batch + 1)) and app.log.seq == first + 2 * batch + 1
    finally:
        del eventfile.open  # pyright: ignore[reportAttributeAccessIssue]


def test_a_stopped_app_sends_nothing_more():
    # Ctrl-C on the console (main.py): outputs floating, and the Multi hears nothing more from
    # a BMS whose protection no longer runs (the IRQ would otherwise answer under the REPL).
    uart = _IrqBusUart()
    app, clock, _ = _app(uart)
    clock.t += 20
    uart.arrive()
    assert uart.writes == 1
    app.stop()
    assert uart.handler is None and app.halted
    assert all(machine.pins[p].is_floating() for p in (13, 14, 9))
    for _ in range(3):
        clock.t += 20
        uart.arrive()
        app.bus_step(clock.t)
    assert uart.writes == 1


def test_the_slot_is_timed_from_the_line_going_idle_not_from_the_python_handler():
    # The hard IRQ stamps the moment the sync ended; the Python handler (scheduled, a soft IRQ)
    # may start later (C code running then: 0.4 ms seen on the emulated Pico): the frame still
    # starts SLOT_US after the stamp, not SLOT_US after the handler.
    from firmware.hw import rs485

    queued = []
    rs485.schedule = lambda f, arg: queued.append((f, arg))  # pyright: ignore[reportAttributeAccessIssue]
    try:
        uart = _HardIrqBusUart()
        app, clock, _ = _app(uart)
        for k in range(3):
            clock.t += 20
            t0 = time.ticks_us()  # pyright: ignore[reportAttributeAccessIssue]
            uart.arrive()  # the hard part: a stamp, the handler queued
            stamp = app.port._idle_us
            assert len(queued) == 1 and uart.writes == k
            assert 0 <= time.ticks_diff(stamp, t0) < 200  # pyright: ignore[reportAttributeAccessIssue]
            while time.ticks_diff(time.ticks_us(), t0) < 400:  # pyright: ignore[reportAttributeAccessIssue]
                pass
            f, arg = queued.pop()
            f(arg)  # the handler, 0.4 ms later: the frame is timed from the stamp
            assert uart.writes == k + 1 and app.port._idle_us == stamp
            assert time.ticks_diff(uart.write_us, stamp) >= SLOT_US  # pyright: ignore[reportAttributeAccessIssue]
    finally:
        rs485.schedule = __import__("micropython").schedule  # pyright: ignore[reportAttributeAccessIssue]


def test_a_frame_whose_slot_is_over_is_not_sent():
    # vebus.md: a node transmits right after the sync; a frame starting more than 2 ms after the
    # sync's end runs into the next node's frame on a real bus. A handler held back that long
    # (decoding a saturated window when the sync came) sends nothing and counts it; the next
    # sync's frame goes out in its slot.
    from firmware.hw import rs485

    queued = []
    rs485.schedule = lambda f, arg: queued.append((f, arg))  # pyright: ignore[reportAttributeAccessIssue]
    try:
        uart = _HardIrqBusUart()
        app, clock, _ = _app(uart)
        app.port.slot_last_us = rs485.SLOT_LAST_US
        clock.t += 20
        t0 = time.ticks_us()  # pyright: ignore[reportAttributeAccessIssue]
        uart.arrive()
        while time.ticks_diff(time.ticks_us(), t0) < 2100:  # pyright: ignore[reportAttributeAccessIssue]
            pass
        f, arg = queued.pop()
        f(arg)  # the handler, 2.1 ms after the line went idle: too late
        assert uart.writes == 0 and app.port.slots_late == 1
        left_out = app.role.frame[4:7]
        clock.t += 20
        # (how long the host takes to decode and build it is no Pico's: test_a_switch_frame_...)
        app.port.slot_last_us = 1 << 20
        uart.arrive()
        f, arg = queued.pop()
        f(arg)  # at once: this sync's slot is kept, and carries the frame left out
        assert uart.writes == 1 and app.port.slots_late == 1
        assert uart.sent[4:7] == left_out, (bytes(uart.sent[4:7]), bytes(left_out))
    finally:
        rs485.schedule = __import__("micropython").schedule  # pyright: ignore[reportAttributeAccessIssue]


class _Micros:
    """firmware/hw/rs485.py's clock in the test's hands (installed as its `time`): ticks_us
    moves 1 us a call (so the slot's wait ends) and where the test sets it."""

    def __init__(self):
        self.us = 10_000
        self.ticks_diff = time.ticks_diff  # pyright: ignore[reportAttributeAccessIssue]
        self.ticks_add = time.ticks_add  # pyright: ignore[reportAttributeAccessIssue]

    def ticks_us(self):
        self.us += 1
        return self.us


class _SlowUart(_HardIrqBusUart):
    """Reading the sync ends decode_us later on the test's clock (a handler still decoding a
    saturated window, the frame built after it)."""

    def __init__(self, clock):
        super().__init__()
        self.clock = clock
        self.decode_us = 0
        self.ms = _Clock()  # the app's, set by _slot_app

    def readinto(self, buf, n):
        i = self.i
        k = super().readinto(buf, n)
        if self.i != i:  # the sync's bytes (not our echo)
            self.clock.us += self.decode_us
        return k

    def write(self, buf, off, n):
        super().write(buf, off, n)
        self.write_us = self.clock.us
        return n


# The sync's end to its stamp: the PL011's receive timeout (32 bit times at 256000 baud) and the
# hard IRQ's entry; the last check to the frame's first start bit (DE up, the write). Measured on
# the emulated Pico (docs/bench-testing.md): the stamp 148-153 us after the sync's end, the start
# bit 44 us after the check.
_IDLE_STAMP_US = 125 + 25
_CHECK_TO_START_US = 45


def _slot_app(clock):
    from firmware.hw import rs485

    queued = []
    rs485.schedule = lambda f, arg: queued.append((f, arg))  # pyright: ignore[reportAttributeAccessIssue]
    rs485.time = clock  # pyright: ignore[reportAttributeAccessIssue]
    uart = _SlowUart(clock)
    app, ms, _ = _app(uart)
    app.port.slot_last_us = rs485.SLOT_LAST_US  # the test's clock is a Pico's, not the host's
    uart.ms = ms
    return app, uart, queued


def _slot_app_done():
    from firmware.hw import rs485

    rs485.schedule = __import__("micropython").schedule  # pyright: ignore[reportAttributeAccessIssue]
    rs485.time = time  # pyright: ignore[reportAttributeAccessIssue]


def _sync(app, uart, queued, clock, decode_us):
    """A sync ends; its idle is stamped _IDLE_STAMP_US later; the handler reads it 150 us after
    that and is done decode_us later. Returns the frame's start - the sync's end (us), or None."""
    writes = uart.writes
    uart.ms.t += 20
    clock.us += 20_000
    end = clock.us
    clock.us = end + _IDLE_STAMP_US
    uart.decode_us = decode_us
    uart.arrive()  # the hard IRQ: the stamp, the handler queued
    clock.us += 150
    f, arg = queued.pop()
    f(arg)
    if uart.writes == writes:
        return None
    return time.ticks_diff(uart.write_us, end) + _CHECK_TO_START_US  # pyright: ignore[reportAttributeAccessIssue]


def test_a_frame_that_would_start_over_2_ms_after_the_sync_is_not_sent():
    # vebus.md: a node's frame follows the sync; one starting more than 2 ms after the sync's
    # end runs into the next node's frame on a real bus. Seen on the emulated Pico after a
    # saturated window: the handler, still decoding it, built the frame 1842 us after the
    # sync's idle was stamped, and the frame started 2039 us after the sync's end. The slot's
    # last start counts from the stamp, 150 us after the sync's end, and the start bit comes
    # after the check: such a frame is not sent, and counted.
    clock = _Micros()
    try:
        app, uart, queued = _slot_app(clock)
        on_time = _sync(app, uart, queued, clock, 1000)  # built in time: a fixed offset
        assert on_time is not None and 1600 + _IDLE_STAMP_US <= on_time <= 2000, on_time
        late = _sync(app, uart, queued, clock, 1842 - 150)
        assert late is None or late <= 2000, late
        assert late is None and app.port.slots_late == 1
        assert _sync(app, uart, queued, clock, 500) is not None  # the next slot is kept
    finally:
        _slot_app_done()


def test_a_switch_frame_left_out_reaches_the_multi_one_sync_later():
    # Manual 1: the BMS switches the Multi off when the BTV loop forbids it. A switch frame that
    # found its slot over (the handler still decoding a saturated window) never reached the
    # Multi: the next sync's slot carries it, 20 ms later, not the resend a second later.
    from firmware.core.protection import Outputs
    from vebus import Decoder
    from vebus import catalogue as cat

    clock = _Micros()
    try:
        app, uart, queued = _slot_app(clock)
        role = app.role
        role.multi_version = 491  # no version query in the way
        assert _sync(app, uart, queued, clock, 500) is not None  # the first status
        out = Outputs()
        out.multi_mode = cat.SWITCH_SLEEP
        role.set_protection(out)
        assert _sync(app, uart, queued, clock, 1842 - 150) is None  # built too late: left out
        assert app.port.slots_late == 1
        assert _sync(app, uart, queued, clock, 500) is not None  # the next sync's slot
        got = []
        Decoder(lambda f: got.append(bytes(f.payload))).feed(uart.sent, 0, uart.echo)
        assert got == [bytes((cat.MSG_SWITCH, cat.SWITCH_SLEEP, 0, 0, 0))], got
        assert role.sent[role.last_tx] == 1  # the switch frame went out once
    finally:
        _slot_app_done()


def test_a_sync_read_before_its_idle_is_not_answered_on_an_older_stamp():
    # rp2's uart.any() empties the FIFO, and the PL011 raises its idle interrupt only for bytes
    # left in it: a handler already running (decoding a saturated window) that reads the sync
    # within 32 bit times of its end gets no idle for it, and the stamp left is the window's.
    # Timed from that one, the frame would start at no fixed offset (here ~0.6 ms early, before
    # the slot): not sent, counted; the next sync, stamped, is answered in its slot.
    clock = _Micros()
    try:
        app, uart, queued = _slot_app(clock)
        uart.ms.t += 20
        clock.us += 20_000
        uart.i = uart.n  # the window: its idle stamped, nothing of the sync yet
        uart.handler(uart)  # pyright: ignore[reportOptionalCall]
        clock.us += 400
        uart.i = 0  # the sync, read by the window's handler before its own idle
        f, arg = queued.pop()
        f(arg)
        assert uart.writes == 0 and app.port.slots_late == 1
        assert app.role.syncs >= 1  # the sync was read all the same
        on_time = _sync(app, uart, queued, clock, 500)
        assert on_time is not None and 1600 + _IDLE_STAMP_US <= on_time <= 2000, on_time
    finally:
        _slot_app_done()


class _Tasks:
    """The inputs and protect tasks (protect=False: the inputs task alone, which steps
    protection as an input settles), each stepped when due as App._every schedules it (1 ms
    resolution), with the protect step's slices it owes; the last inputs step's time in `poll`."""

    def __init__(self, app, clock, protect=True):
        from firmware.app import TASK_NAMES

        T_INPUTS = TASK_NAMES.index("inputs")
        T_PROTECT = TASK_NAMES.index("protect")

        self.app, self.clock = app, clock
        self.tasks = [(T_INPUTS, app.inputs_step)]
        if protect:
            self.tasks.append((T_PROTECT, app.protect_step))
        self.due = [clock.t] * len(self.tasks)
        self.poll = clock.t
        self.t_inputs = T_INPUTS

    def run(self, ms):
        for _ in range(ms):
            self.clock.t += 1
            t = self.clock.t
            for k, (i, step) in enumerate(self.tasks):
                if t >= self.due[k]:
                    step(t)
                    while self.app.protect_slice(t):  # the slices the task runs after its step
                        pass
                    if i == self.t_inputs:
                        self.poll = t
                    self.due[k] = t + self.app.sleep_after(i, t)  # the test clock never wraps

    def to_phase(self, phase):
        """Run until `phase` ms after the last inputs step."""
        while self.clock.t - self.poll != phase:
            self.run(1)


def test_a_btv_edge_reaches_the_output_one_debounce_later_whatever_the_polls_phase():
    # The manual: a battery pre-alarm -> pre-alarm output high (loads on), and back; the
    # debounce (settings debounce_ms) rejects shorter glitches. The edge's pin IRQ stamps it, so
    # the output follows debounce_ms after the edge wherever it falls between two polls (a poll
    # alone would add up to one inputs period), never sooner.
    from firmware.core.settings import Settings

    app, clock, _ = _app()
    debounce = Settings().debounce_ms  # _app keeps the defaults' debounce
    pa = machine.pins[app.board.profile["outputs"][2][0]]
    line = machine.Pin(app.board.profile["btv_inputs"][2][1])  # the pre-alarm line (input 2)
    tasks = _Tasks(app, clock)
    tasks.run(3000)  # start-up: loop OK for startup_ok_ms, then the outputs on
    assert machine.pins[13].is_driven_high() and not pa.is_driven_high()
    took = set()
    period = app.inputs_ms[0]
    for phase in range(1, period, 4):  # ms after the last poll, across the inputs period
        tasks.to_phase(phase)
        level = 0 if not pa.is_driven_high() else 1  # 0: pre-alarm, 1: clear
        t_edge = clock.t
        line.edge(level)
        while pa.is_driven_high() != (level == 0) and clock.t - t_edge < 200:
            tasks.run(1)
        took.add(clock.t - t_edge)
        tasks.run(20)
    assert took == {debounce}, took


def test_a_pre_alarm_settling_as_start_up_ends_reaches_its_output_with_the_loads():
    # The manual: a battery pre-alarm -> pre-alarm output high (loads on). When start-up ends
    # (loop OK for startup_ok_ms) in the step that sees a pre-alarm settle, the pre-alarm output
    # follows the loads at once, within the debounce and one inputs tick like any BTV edge, not
    # a protect period later (on the emulated Pico that was 61-65 ms after the edge).
    from firmware.app import INPUTS_MIN_MS
    from firmware.core.settings import Settings

    app, clock, _ = _app()
    out = app.board.profile["outputs"]
    load, pa = machine.pins[out[0][0]], machine.pins[out[2][0]]
    line = machine.Pin(app.board.profile["btv_inputs"][2][1])  # the pre-alarm line (input 2)
    tasks = _Tasks(app, clock, protect=False)
    tasks.run(Settings().startup_ok_ms + 500)
    assert not load.is_driven_high()  # start-up is over, but no step has seen it yet
    line.edge(0)
    t_edge = clock.t
    while not pa.is_driven_high() and clock.t - t_edge < 200:
        tasks.run(1)
    assert load.is_driven_high() and pa.is_driven_high()
    assert Settings().debounce_ms <= clock.t - t_edge < Settings().debounce_ms + INPUTS_MIN_MS


def test_remote_off_floats_every_output_one_debounce_after_its_edge_whatever_the_polls_phase():
    # The manual: remote off (the L-H bridge removed) -> the BMS off, every output floating;
    # remote on brings them back (after min_hold_s). The terminal is debounced like the BTV
    # lines: a shorter glitch changes nothing. Its pins' IRQ stamps the edge, so the outputs
    # float debounce_ms after it wherever it falls between two polls, never sooner.
    from firmware.core.settings import Settings

    app, clock, _ = _app()
    s = Settings()
    outs = [machine.pins[p] for p, _ in app.board.profile["outputs"][:2]]  # load, charge
    h = machine.Pin(app.board.profile["remote_h"][1])  # bridged: L and H both read 1
    tasks = _Tasks(app, clock)
    tasks.run(3000)
    assert all(p.is_driven_high() for p in outs)
    h.edge(0)  # a 20 ms glitch: the bridge opens and closes again
    tasks.run(20)
    h.edge(1)
    tasks.run(200)
    assert all(p.is_driven_high() for p in outs)
    took = []
    for phase in (1, 23, app.inputs_ms[0] - 1):
        tasks.to_phase(phase)
        t_edge = clock.t
        h.edge(0)  # remote off
        while any(p.is_driven_high() for p in outs) and clock.t - t_edge < 200:
            tasks.run(1)
        took.append(clock.t - t_edge)
        assert all(p.is_floating() for p in outs)
        h.edge(1)  # remote on: the outputs back after min_hold_s
        tasks.run(s.min_hold_s * 1000 + 200)
        assert all(p.is_driven_high() for p in outs)
    assert took == [s.debounce_ms] * 3, took


def test_a_protect_step_that_changes_nothing_takes_no_slice_to_tell_it():
    # A step owed by a timer or once a second mostly changes nothing: what the bus role and
    # the LEDs are told is checked in the step's own slice, not in one after another await
    # (each costs the core a scheduler pass: pico_busy_pct_max). A change still gets its slice.
    app, clock, _ = _app()
    tasks = _Tasks(app, clock)
    tasks.run(3000)  # start-up done, the outputs and the Multi on
    app.prot.due = lambda now: True
    assert app.protect_read(clock.t) and app.protect_slice(clock.t)  # Protection.step
    assert not app.out.changed and not app.protect_slice(clock.t)  # nothing more owed
    app.inp.btv.charge_ok = False  # a high cell (manual 3.3): charge disconnect off
    assert app.protect_slice(clock.t) is False  # (no news read yet)
    assert app.protect_read(clock.t) and app.protect_slice(clock.t)
    assert app.out.changed and app.protect_slice(clock.t)  # the change told in its own slice
    assert app.role.charge_rate == app.out.charge_rate


def test_news_read_while_the_last_decision_is_still_being_told_gets_its_step():
    # The protect task works in slices (firmware/app.py: read, Protection.step and the pins, then
    # the bus role and the LEDs), other tasks' steps between them. A read that finds news after
    # a step and before that step is told to the rest owes a step of its own: the news is in
    # Protection's inputs already, so no later read would see it again. What a user sees: a GX
    # asking for inverter-only gets it (the Multi's mode: protection > remote > DMC > GX).
    from firmware.core.codes import MODE_INVERTER_ONLY, MODE_ON

    app, clock, _ = _app()
    tasks = _Tasks(app, clock)
    tasks.run(3000)  # start-up done, the outputs and the Multi on
    assert app.out.multi_mode == MODE_ON
    app.role.multi_version = 502  # news that changes nothing (the Multi is not heard here)
    assert app.protect_read(clock.t)
    assert not app.protect_decide(clock.t)
    app.role.gx_request = MODE_INVERTER_ONLY  # news from the bus before that step is told
    assert app.protect_read(clock.t)
    app.protect_follow(clock.t)
    app.protect_step(clock.t)  # what the task runs next
    assert app.out.multi_mode == MODE_INVERTER_ONLY
    assert app.role.mode == MODE_INVERTER_ONLY  # and the Multi is told so


def test_the_multis_frames_back_to_back_go_out_on_the_panel_port_in_one_write():
    # docs/protocol.md, "Between the two ports": every good frame from the Multi side goes out
    # on the panel side verbatim, in order. A frame whose successor is already arriving waits
    # for it (that one's own RX-idle IRQ comes when it ends): both go out in one write.
    from vebus import ADDR_MULTI, encode_data

    app, clock, uart = _app(_IrqBusUart())
    panel = app.board.ports[1].uart
    uart.arrive()  # a sync: the slot, then the sync relayed to the panel port
    assert panel.writes == 1 and panel.sent[2] == 0xFD
    buf = bytearray(64)
    ac = bytes(buf[: encode_data(buf, ADDR_MULTI, 6, b"\xe4\x80\x50\xc3\x40\x0d\x03\x00")])
    reply = bytes(buf[: encode_data(buf, ADDR_MULTI, 6, b"\x00\xe4\x85\x00\x00")])
    clock.t += 5  # the panel devices' slot after the relayed sync is over
    uart.frame = bytearray(ac + reply[:4])  # the reply half there when the line went idle
    uart.n = len(uart.frame)
    uart.arrive()
    assert panel.writes == 1  # the AC info frame waits for the reply
    uart.frame = bytearray(reply[4:])
    uart.n = len(uart.frame)
    uart.arrive()  # the rest of the reply, then the line idle
    run = bytes(panel.sent[: panel.echo])  # (after the BMS's own slot frame, queued first)
    assert panel.writes == 2 and run.endswith(ac + reply) and run.count(ac) == 1
    clock.t += 1
    uart.frame = bytearray(ac)  # a frame alone goes out at once
    uart.n = len(uart.frame)
    uart.arrive()
    assert panel.writes == 3 and bytes(panel.sent[: panel.echo]) == ac
