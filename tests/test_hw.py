"""firmware/hw on the fake machine: outputs float for real, RS485 send/echo, watchdog, profiles."""

from vmtest import alloc_bytes, locked, requires_vm

from firmware.hw import board_esp32, board_pico, safe
from firmware.hw.board import Board
from firmware.hw.pins import CHARGE_DISCONNECT, LOAD_DISCONNECT, PRE_ALARM, Inputs, Outputs
from firmware.hw.rs485 import ECHO_MS, Rs485
from firmware.hw.rs485_timed import TimedRs485
from firmware.hw.watchdog import Watchdog

machine = __import__("machine")  # the fake of tests/fakes (typed as a plain module)


def test_outputs_on_is_driven_off_is_high_impedance():
    machine.reset_fakes()
    pre = machine.Pin(13, machine.Pin.IN, machine.Pin.PULL_DOWN)  # RP2040 reset pull-down
    out = Outputs(((13, 1), (14, 0), (9, 1)))
    for i in range(3):
        assert machine.pins[(13, 14, 9)[i]].is_floating()
    out.set(LOAD_DISCONNECT, True)
    out.set(CHARGE_DISCONNECT, True)
    assert pre.is_driven_high() and out.is_on(LOAD_DISCONNECT)
    assert machine.pins[14].mode() == machine.Pin.OUT and machine.pins[14].value() == 0
    n = pre.transitions
    out.set(LOAD_DISCONNECT, True)  # no change, no pin activity
    assert pre.transitions == n
    out.set(LOAD_DISCONNECT, False)
    assert pre.is_floating() and not out.is_on(LOAD_DISCONNECT)
    out.set(PRE_ALARM, True)
    out.safe()
    assert all(machine.pins[p].is_floating() for p in (13, 14, 9))


def test_inputs_read_from_the_gpio_register_read_what_each_pin_reads():
    # rp2: the Pico profile's BTV lines (GPIO 16-21) and remote L, H, mains (10-12) are read in
    # one load of SIO GPIO_IN (RP2040 datasheet 2.3.1.7), the same bits as a read per pin; pins
    # that are not consecutive are read one by one.
    p = board_pico.PROFILE
    gpio_in = machine.mem32.GPIO_IN
    for specs in (p["btv_inputs"], (p["remote_l"], p["remote_h"], p["mains"])):
        machine.reset_fakes()
        one_load = Inputs(specs, gpio_in)
        each_pin = Inputs(specs)
        assert one_load._reg and not each_pin._reg
        for levels in range(1 << len(specs)):
            for n, spec in enumerate(specs):
                machine.pins[spec[1]].external = levels >> n & 1
            machine.Pin(spec[1] + 1).external = 1  # the GPIO after the last is not an input
            assert one_load.read_bits() == each_pin.read_bits() == levels, levels
    machine.reset_fakes()
    apart = Inputs((("a", 10, None), ("b", 12, None)), gpio_in)
    machine.pins[12].external = 1
    assert not apart._reg and apart.read_bits() == 0b10


def _port():
    machine.reset_fakes()
    uart = machine.UART(0, 256000, rxbuf=1024)
    port = Rs485(uart, 2)
    uart.de = machine.pins[2]
    return uart, port


def test_rs485_send_returns_with_the_frame_out_and_de_low():
    # vebus.md: DE high, write, wait for transmit done, DE low. The Multi may start its next
    # frame ~100 us after our last stop bit, so DE must drop in the same call that waited.
    uart, port = _port()
    de = machine.pins[2]
    frame = bytearray(b"\x98\xf7\xfe\x11\x3f\x07\x00\x00\x00\xc4\xff" + bytes(10))
    uart.tx_busy_polls = 2
    assert port.send(frame, 11, 1000)
    assert de.value() == 0 and uart.txdone()  # DE low only after the last stop bit went out
    assert uart.take_tx() == bytes(frame[:11])  # exactly n bytes, all with DE high
    assert uart.lost == 0 and port.tx_frames == 1


def test_rs485_discards_its_echo_and_counts_collisions():
    uart, port = _port()
    uart.inject(b"\x83\x83")  # a bus byte pair already waiting before we sent
    frame = bytearray(b"\x98\xf7\xfe\x11\xaa\xff")
    assert port.read(0) == 2 and bytes(port.rx[:2]) == b"\x83\x83"
    port.send(frame, 6, 0)
    assert not port.send(frame, 6, 0)  # one frame at a time: its echo is still expected
    uart.inject(b"\x01\x02")  # the bus answers after our frame
    n = port.read(1)
    assert n == 2 and bytes(port.rx[:2]) == b"\x01\x02" and port.collisions == 0
    # a collision: the echo comes back different
    uart.echo = False
    port.send(frame, 6, 10)
    uart.inject(b"\x98\xf7\xfe\x00\xaa\xff\x05")
    assert port.read(11) == 1 and port.rx[0] == 5 and port.collisions == 1
    # an echo that never comes is given up ECHO_MS after transmit done
    port.send(frame, 6, 20)
    assert port.read(20 + ECHO_MS) == 0 and port.echo_missing == 0
    assert port.read(21 + ECHO_MS) == 0 and port.echo_missing == 1
    uart.inject(b"\x07")
    assert port.read(30) == 1 and port.rx[0] == 7


def test_rs485_stuck_transmitter_times_out_and_drops_de():
    uart, port = _port()
    uart.tx_stuck = True
    assert port.send(bytearray(b"\x01\x02"), 2, 500)
    assert machine.pins[2].value() == 0 and port.tx_timeouts == 1


def _timed_port():
    machine.reset_fakes()
    uart = machine.UART(1, 256000, rxbuf=1024)
    timer = machine.Timer(-1)
    port = TimedRs485(uart, 3, timer)
    uart.de = machine.pins[3]
    return uart, port, timer


def test_rs485_timer_mode_returns_at_once_and_the_timer_drops_de_only_when_the_bytes_are_out():
    # docs/hardware.md (the RS485 front end): DE high, write, DE low once the shift register is
    # empty. With a timer (the Remote panel port on rp2) send() returns with the frame still on
    # the wire; the timer's hard IRQ drops DE, never while the UART still shifts bytes out.
    uart, port, timer = _timed_port()
    de = machine.pins[3]
    frame = bytearray(b"\x00\x00\x83\x83\xfe\x3b\xe4\x00\x01\x02\x03\xff")
    uart.tx_busy_polls = 2  # the UART reports transmit done only at the third look
    assert port.send(frame, 10, 1000, 2)  # buf[2:12]: the frame as the relay's ring holds it
    assert de.value() == 1 and port.sending()
    assert uart.take_tx() == bytes(frame[2:12]) and uart.lost == 0  # all with DE high
    assert timer.mode == machine.Timer.ONE_SHOT and timer.hard and timer.freq > 0
    fires = 0
    while port.sending():  # each fire: DE drops, or the timer is armed again for later
        assert timer.callback is not None and de.value() == 1
        timer.fire()
        fires += 1
        assert fires < 100
    assert uart._busy == 0  # DE dropped only after the UART reported transmit done
    assert de.value() == 0 and port.tx_timeouts == 0


def test_rs485_timer_mode_writes_the_next_frame_behind_the_one_on_the_wire_de_held():
    uart, port, timer = _timed_port()
    de = machine.pins[3]
    a = bytearray(b"\x83\x83\xfe\x3b\xe4\x00\x01\x02\x03\xff")
    b = bytearray(b"\x83\x83\xfd\x3c\x55\x51\x18\x02\x97\xff")
    assert port.send(a, 10, 0) and port.send(b, 10, 0)  # back to back: DE never dropped
    assert uart.take_tx() == bytes(a) + bytes(b) and uart.lost == 0 and de.value() == 1
    assert len(machine.timers) == 1  # one timer, re-armed for the later end
    while port.sending():
        timer.fire()
    assert de.value() == 0
    # both echoes come back: counted, then the bus's own bytes are handed out
    uart.inject(b"\x07")
    assert port.read(1) == 1 and port.rx[0] == 7 and port.quiet()


def test_rs485_timer_mode_rx_idle_after_a_run_consumes_its_echo_alone():
    # The transceiver's receiver stays enabled (docs/hardware.md): each run of ours comes back.
    # At the RX-idle IRQ after it, the echo alone is consumed there (nothing to read); a
    # device's bytes behind it leave everything to read(), which hands out the device's bytes.
    uart, port, timer = _timed_port()
    a = bytearray(b"\x83\x83\xfe\x3b\xe4\x00\x01\x02\x03\xff")
    assert port.send(a, 10, 0)
    while port.sending():
        timer.fire()
    assert port.echo_only() and port.quiet() and uart.any() == 0
    assert port.echo_only()  # the IRQ for bytes read meanwhile: nothing to do either
    uart.echo = False
    assert port.send(a, 10, 0)
    uart.inject(a[:4])  # the line went idle with part of the echo in: the rest comes later
    assert port.echo_only() and not port.quiet() and uart.any() == 0
    uart.inject(a[4:] + b"\x07\x08")  # the rest, and a device talking right after our run
    assert not port.echo_only() and uart.any() == 8
    assert port.read(1) == 2 and bytes(port.rx[:2]) == b"\x07\x08" and port.quiet()
    assert port.echo_missing == 0


def test_rs485_timer_mode_echo_that_never_comes_is_given_up_after_the_wire_end():
    uart, port, timer = _timed_port()
    uart.echo = False
    assert port.send(bytearray(12), 12, 100)
    while port.sending():
        timer.fire()
    assert port.read(100 + ECHO_MS) == 0 and port.echo_missing == 0  # the frame's wire time
    assert port.read(102 + ECHO_MS) == 0 and port.echo_missing == 1  # ends 0.5 ms after 100


def test_boards_release_the_panel_ports_de_by_timer_only_on_the_rp2_port():
    # firmware/hw/board_start.py: the timer is checked on the emulated Pico (rp2), nowhere else
    machine.reset_fakes()
    ports = Board("pico").ports
    assert [p.compares for p in ports] == [True, True]  # not rp2 here: both ports block
    assert not [p for p in ports if isinstance(p, TimedRs485)]


class _QuietUart:
    """A UART that allocates nothing itself: echoes n bytes back, one bus byte after each echo."""

    def __init__(self):
        self.pending = 0
        self.bus = 1  # bus bytes after each echo

    def write(self, buf, off, n):
        self.pending = n + self.bus
        return n

    def flush(self):
        pass

    def txdone(self):
        return True

    def any(self):
        return self.pending

    def readinto(self, buf, n):
        n = n if n < self.pending else self.pending
        for i in range(n):
            buf[i] = 0x55
        self.pending -= n
        return n


def test_rs485_steady_state_does_not_allocate():
    requires_vm()
    machine.reset_fakes()
    port = Rs485(_QuietUart(), 2)
    frame = bytearray(b"\x55\x55\x55\x55\x55\x55\x55\x55\x55\x55\x55")
    got = bytearray(1)

    def cycle():
        for _ in range(20):
            port.send(frame, 11, 0)
            got[0] = port.read(1)

    cycle()
    assert got[0] == 1 and port.collisions == 0
    assert alloc_bytes(cycle) == 0
    locked(cycle)


def test_rs485_timer_mode_steady_state_does_not_allocate():
    # The relayed frames' path on rp2: send, the timer IRQ (a hard IRQ may not allocate at all),
    # the echo read; the fake Timer's init is plain Python as the port's is C
    requires_vm()
    machine.reset_fakes()
    timer = machine.Timer(-1)
    port = TimedRs485(_QuietUart(), 3, timer)
    frame = bytearray(b"\x55\x55\x55\x55\x55\x55\x55\x55\x55\x55\x55")
    got = bytearray(2)

    def cycle():
        for _ in range(20):
            port.send(frame, 11, 0)
            got[1] = port.sending()
            timer.fire()  # the UART reports transmit done: DE drops
            got[0] = port.read(1)

    cycle()
    assert got[0] == 1 and got[1] == 1 and not port.sending()
    assert alloc_bytes(cycle) == 0
    locked(cycle)
    port.uart.bus = 0  # the echo alone, consumed at the RX-idle IRQ

    def echo_cycle():
        for _ in range(20):
            port.send(frame, 11, 0)
            timer.fire()
            got[0] = port.echo_only()

    echo_cycle()
    assert got[0] and port.quiet()
    assert alloc_bytes(echo_cycle) == 0
    locked(echo_cycle)


def test_watchdog_feeds_only_while_every_task_checks_in():
    machine.reset_fakes()
    now = [0]
    machine.set_clock(lambda: now[0])
    try:
        wd = Watchdog(3000)
        a = wd.register("inputs", 500, 0)
        b = wd.register("bus_rx", 500, 0)
        wd.start()
        w = machine.wdt
        assert w.timeout == 3000
        for t in range(0, 2000, 100):
            now[0] = t
            wd.check_in(a, t)
            wd.check_in(b, t)
            assert wd.supervise(t)
        for t in range(2000, 6000, 100):  # bus_rx hangs
            now[0] = t
            wd.check_in(a, t)
            fed = wd.supervise(t)
            assert fed == (t <= 2400)
        assert wd.stale == b and wd.names[wd.stale] == "bus_rx"
        assert w.expired(6000) and not w.expired(2400 + 3000)
    finally:
        machine.set_clock(None)


def test_profiles_build_on_the_fake_machine():
    for name, mod in (("pico", board_pico), ("esp32", board_esp32)):
        machine.reset_fakes()
        board = Board(name)
        assert bool(board.btv._reg) == (name == "pico")  # rp2: read from GPIO_IN
        p = mod.PROFILE
        assert board.port_names == ["multi", "panel"]
        for _, uart_id, _tx, _rx, de in p["bus"]:
            assert machine.uarts[uart_id].baudrate == 256000
            assert machine.uarts[uart_id].rxbuf >= 1024
            assert machine.pins[de].value() == 0
        for pin, _ in p["outputs"]:
            assert machine.pins[pin].is_floating()
        assert safe.pins(p["platform"]) == (
            tuple(o[0] for o in p["outputs"]),
            tuple(b[4] for b in p["bus"]),
        )
        first = p["btv_inputs"][0][1]
        third = p["btv_inputs"][2][1]
        machine.pins[first].external = 1
        machine.pins[third].external = 1
        assert board.read_btv() == 0b101
        board.outputs.set(PRE_ALARM, True)
        board.safe()
        assert machine.pins[p["outputs"][2][0]].is_floating()


def test_crash_path_floats_outputs_without_a_board():
    machine.reset_fakes()
    for pin in (13, 14, 9):
        machine.Pin(pin, machine.Pin.OUT, value=1)
    machine.Pin(2, machine.Pin.OUT, value=1)
    safe.outputs_safe()
    assert all(machine.pins[p].is_floating() for p in (13, 14, 9))
    assert machine.pins[2].value() == 0 and machine.pins[3].value() == 0


def test_no_light_sleep_while_usb_is_plugged_in():
    machine.reset_fakes()
    board = Board("pico")
    assert board.lightsleep(10) and machine.lightsleep_ms == 10
    machine.pins[24].external = 1  # VBUS present
    assert not board.lightsleep(10) and machine.lightsleep_calls == 1
    machine.reset_fakes()
    esp = Board("esp32")
    assert esp.lightsleep(10) and not esp.usb_connected()
