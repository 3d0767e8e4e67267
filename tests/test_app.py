"""firmware/app.py step by step (no event loop): the slot needs a fresh read; no allocation."""

import gc
import time

from vmtest import alloc_bytes, fresh_root, locked, requires_vm

from firmware.hw.rs485 import SLOT_US
from vebus import catalogue as cat
from vebus import encode_sync

machine = __import__("machine")  # the fake of tests/fakes (typed as a plain module)


class _BusUart:
    """A UART stand-in that allocates nothing: a sync frame arrives when told, writes echo."""

    def __init__(self):
        self.frame = bytearray(20)
        pay = bytearray(8)
        self.n = encode_sync(self.frame, 5, pay, cat.build_sync(pay, 0, 0))
        self.i = self.n  # nothing pending
        self.sent = bytearray(64)
        self.echo = 0
        self.echo_i = 0
        self.writes = 0
        self.write_us = 0

    def arrive(self):
        self.i = 0

    def write(self, buf, n):
        for k in range(n):
            self.sent[k] = buf[k]
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
        assert trigger == self.IRQ_RXIDLE
        self.handler = handler

    def arrive(self):
        self.i = 0
        if self.handler is not None:
            self.handler(self)


class _Clock:
    def __init__(self):
        self.t = 1000

    def ticks_ms(self):
        return self.t


def _app(uart=None):
    import main
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
    app = main.build(fresh_root("app-steps"), clock.ticks_ms, s)
    uart = uart or _BusUart()
    app.port.uart = uart
    app.port._write = uart.write
    app.port._flush = uart.flush
    app.rx_irq = app.port.on_rx_idle(app.multi_rx_idle)
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
    clock.t += 2
    app.bus_step(clock.t)
    clock.t += 2
    uart.arrive()
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
    app.bus_step(clock.t)  # presence and the panel port only: the Multi port is the IRQ's
    assert uart.echo_i == 0 and uart.writes == 1
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
    app, clock, uart = _app(_IrqBusUart())

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
