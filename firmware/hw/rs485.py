"""RS485 half-duplex driver for one VE.Bus port (256000 baud 8N1, receiver always enabled).

Send sequence (docs/hardware.md, confirmed): DE high, write, DE low once the UART's shift register
is empty (the last stop bit is out), not just its buffer. DE must fall within a few bit times of
that stop bit: on the Multi's segment the Multi may start its next frame ~100 us later.
Two ways, chosen per port by firmware/hw/board.py:
  - blocking (the Multi port; every port off the rp2 port: the ESP32 profile, the host's
    simulations): `send()` writes, `uart.flush()` returns when the last stop bit is out (rp2: it
    polls txdone; ESP32: the driver's TX done), DE drops right after it. It costs the frame's
    wire time (39 us a byte), which suits the slot's few frames a second at their exact time.
    Polling txdone from the bus task instead released DE 25 us to 1.6 ms late (other tasks'
    steps ran in between).
  - released by a timer (the Remote panel port on rp2: TimedRs485 in firmware/hw/rs485_timed.py,
    imported only for that port, so a one-port board does not load its code): `send()` writes
    and returns;
    a one-shot hard timer IRQ fires _LEAD_US before the frame's computed wire end, waits for
    txdone there (a few us: the IRQ's own latency takes most of the lead) and drops DE. A frame
    written while one is on the wire follows it back to back with DE held: the IRQ re-arms for
    the new end. The relay sends ~100 frames a second of 0.4-0.9 ms; waiting each one out held
    the soft IRQ, and every task behind it, for a tenth of every second. Measured on the
    emulated Pico (docs/bench-testing.md): DE falls 7-41 us after the last stop bit. Not used,
    seen on the emulated Pico: the rp2 port's UART IRQ_TXIDLE (v1.28) fires when the TX FIFO
    drains to its trigger level, with 4 bytes still to go, and not at all after a 3-byte write;
    PIO with side-set DE would send outside the UART, with its own echo and timing to prove.
    While DE is up, machine code that stops every IRQ (a flash write) would hold it up:
    `sending()` tells the log task to wait.
If flush() times out (a stuck UART), or txdone does not come ECHO_MS after the wire end, DE
drops anyway and `tx_timeouts` counts it.
A frame sent from the RX-idle IRQ (`on_rx_idle`) waits until SLOT_US after the line went idle, so
it starts a fixed time after the sync whatever decoding and building it took. That moment is
stamped by a hard IRQ where the port has one (rp2), which only stamps it and schedules the
Python handler: that one runs as a soft IRQ once the bytecode or C call running then returns
(0.1-0.45 ms later on the emulated Pico, as long as a flash write during one), and stamped from
there it would start the frame as much later. The stamp is the sync's only if it came after the
sync's last byte: rp2's `uart.any()` moves what the FIFO holds into the ring buffer, and the
PL011 raises its idle (receive timeout) interrupt only for bytes still in the FIFO, so a handler
already running (decoding a saturated window) that reads the sync within 32 bit times of its
end takes it before its idle, which then never comes; the stamp left is an older line's. So
each stamp also notes how many bytes were waiting then, and send() sends nothing if more have
been taken since (counted in slots_late, as a frame whose slot is over).
The transceiver's receiver stays enabled, so every byte we send comes back: `read()` first
consumes exactly that echo, then hands out the bus's bytes. A blocking port compares it with
what was sent (a difference is a collision, counted); a timer-released port only counts it:
copying and comparing 20 bytes in bytecode costs about as much as sending them (0.5 ms on an
RP2040), and at the relay's 100 frames a second that was 5 % of the core. What arrived while we
sent is echo, however late it is read; an echo that never arrives is given up `ECHO_MS` after
the wire end. A timer-released port consumes the echo alone at the RX-idle IRQ after its run
(`echo_only`): a few calls, where reading the port through the relay's loop cost ~0.45 ms.

Receive buffer: at 256000 baud the bus carries 25.6 bytes per ms. The UART's own ring buffer
(`RXBUF`) must hold everything that arrives while the asyncio loop is busy elsewhere: the worst
case is a flash write of the event log plus a garbage collection, budgeted at 40 ms -> 1024 bytes.
`read()` drains it in chunks of `chunk` bytes.

No allocation after construction: `uart.write(buf, off, n)` is MicroPython's stream write with
an offset and a length (no slice), readinto with an explicit count never blocks on a UART built
with timeout=0, and the timer IRQ only reads ticks, txdone and re-inits its timer (checked on the
emulated Pico: a hard IRQ that allocates raises MemoryError there).
"""

import time

from machine import Pin
from micropython import const, schedule

BAUD = const(256000)
RXBUF = const(1024)  # bytes: 40 ms of worst scheduling delay at 25.6 bytes/ms
TXBUF = const(64)  # one stuffed frame fits, so write() never blocks
ECHO_MS = const(5)  # after transmit done, the echo must have been seen within this time
# A frame sent from the RX-idle IRQ starts this long after the line went idle (32 bit times,
# 125 us, after the sync's last byte): on the emulated Pico, reading and decoding the sync and
# building the frame end 1.2-1.55 ms after that (the frame's kind, what else ran), so the wait,
# not that work, sets the slot's offset: about 1.8 ms after the sync's end, 0.1 ms to spare on
# either side (docs/bench-testing.md).
SLOT_US = const(1600)
# The slot's last start: a frame whose first start bit would come more than 2 ms after the sync's
# end runs into the next node's frame on a real bus, and is not sent (its handler was held back,
# or was still decoding a saturated window when the sync came); send() returns False, and the
# role (BmsRole.unsent) has the next slot carry it. Counted from the stamp, itself
# 125 us (32 bit times: the PL011's receive timeout) + the hard IRQ's entry after the sync's end
# (148-153 us on the emulated Pico), and the start bit comes 44 us after the check (DE up, the
# write): 2000 - 153 - 44, less ~30 us for an IRQ in between.
SLOT_LAST_US = const(1775)


class Rs485:
    compares = True  # the echo is compared with what was sent (TimedRs485: only counted)

    def __init__(self, uart, de_pin_id, chunk=128, max_frame=64):
        """send() blocks for the wire time (see above)."""
        self.uart = uart
        self.de = Pin(de_pin_id, Pin.OUT, value=0)
        self._write = uart.write
        self._flush = uart.flush
        self._handler = None
        self._irq = self._rx_idle  # bound once: the IRQ allocates nothing
        self._stamp = self._rx_idle_stamp  # bound once too (hard IRQ)
        self._idle_us = 0
        self._waiting = 0  # bytes waiting in the UART when _idle_us was stamped
        self._taken = 0  # bytes taken from it since (echo and bus; counted before they are)
        self._hard = False  # a hard IRQ stamps _idle_us (else the handler, when it runs)
        self._in_irq = False
        self.rx = bytearray(chunk)
        self._echo_rx = bytearray(max_frame)
        self._sent = bytearray(max_frame)  # what was sent (blocking: its echo is compared)
        self._echo_n = 0  # bytes of echo expected in total
        self._echo_i = 0  # bytes of echo seen
        self._echo_bad = False
        self._echo_deadline = 0
        self.tx_frames = 0
        self.tx_bytes = 0
        self.rx_bytes = 0
        self.collisions = 0
        self.echo_missing = 0
        self.tx_timeouts = 0
        self.slots_late = 0  # frames not sent: their slot was over (SLOT_LAST_US)
        self.slot_last_us = SLOT_LAST_US

    def on_rx_idle(self, handler, slot=True):
        """handler(uart) each time the line goes idle after bytes arrived (rp2, ESP32:
        UART.irq with IRQ_RXIDLE, 32 bit times after the last byte; the handler runs as a soft
        IRQ, between two bytecodes). False where the UART has no such IRQ: the caller polls
        read() instead.
        slot: a frame sent from the handler starts SLOT_US after the line went idle (the Multi
        port's slot); False: at once (the Remote panel port)."""
        trigger = getattr(self.uart, "IRQ_RXIDLE", 0)
        if not trigger:
            return False
        self._handler = handler
        # What arrived before (since the port opened, during the app's construction) is older
        # than any slot: dropped, so the first call decodes one frame, not a backlog.
        uart = self.uart
        while uart.any():
            uart.readinto(self.rx, len(self.rx))
        if not slot:
            uart.irq(handler, trigger)
            return True
        try:  # rp2: a hard IRQ stamps the moment, then schedules the handler
            uart.irq(self._stamp, trigger, hard=True)
            self._hard = True
        except (TypeError, ValueError, OSError):  # no hard UART IRQ: the handler stamps it
            uart.irq(self._irq, trigger)
        return True

    def _rx_idle_stamp(self, uart):
        self._idle_us = time.ticks_us()
        self._waiting = uart.any()
        self._taken = 0
        try:
            schedule(self._irq, uart)
        except Exception:  # the scheduler's queue is full: the next idle reads these bytes
            pass

    def rx_idle_off(self):
        """No more RX-idle IRQ (the app stopped): nothing is read or sent from it."""
        if self._handler is not None:
            self._handler = None
            self.uart.irq(None, 0)

    def _rx_idle(self, uart):
        # With a hard IRQ only it stamps: a handler queued behind another (two idles while one
        # ran) runs later still, and its own moment would make the slot's last start later.
        if not self._hard:
            self._idle_us = time.ticks_us()
            self._waiting = uart.any()
            self._taken = 0
        self._in_irq = True
        try:
            self._handler(uart)  # pyright: ignore[reportOptionalCall]  (set with the IRQ)
        finally:
            self._in_irq = False

    def quiet(self):
        """Nothing being sent by us and nothing waiting in the receive buffer."""
        return self._echo_n == 0 and not self.uart.any()

    def echo_only(self):
        """False: the echo is compared by read() (TimedRs485: consumed here at the RX-idle IRQ
        when nothing else arrived)."""
        return False

    def echo_time(self, now):
        """Our last frame left the wire at most ECHO_MS ago (or is still on it)."""
        return time.ticks_diff(now, self._echo_deadline) <= 0

    def sending(self):
        """DE is high: a frame of ours is on the wire (never, here: send() returns after it)."""
        return False

    def free(self):
        """Bytes send() takes now: up to max_frame once the last echo is in."""
        return 0 if self._echo_n else len(self._sent)

    def send(self, buf, n, now, off=0):
        """DE high, buf[off:off + n] on the wire, DE low as soon as its last stop bit is out.

        False (nothing done) unless free() takes n bytes now."""
        if n > len(self._sent):
            raise ValueError("frame longer than max_frame")
        # nothing before DE rises that the slot's frame could wait for
        if self._echo_n:
            return False
        if self._in_irq:  # the slot: a fixed time after the line went idle (SLOT_US)
            idle = self._idle_us
            if self._taken > self._waiting:  # read before its idle: the stamp is older (above)
                self.slots_late += 1
                return False
            d = time.ticks_diff(time.ticks_us(), idle)
            while d < SLOT_US:
                d = time.ticks_diff(time.ticks_us(), idle)
            if d > self.slot_last_us:  # (a frame built late is checked at once)
                self.slots_late += 1
                return False
        self.de.value(1)
        self._write(buf, off, n)
        sent = self._sent  # for the echo's comparison: copied while the UART sends
        for i in range(n):
            sent[i] = buf[off + i]
        try:
            self._flush()
        except OSError:  # the port's flush timed out: the UART is stuck
            self.tx_timeouts += 1
        self.de.value(0)
        self._expect_echo(n, now, 0)
        return True

    def _expect_echo(self, n, now, wire_ms):
        """n bytes sent (their echo to come), the last of them on the wire wire_ms more."""
        if not self._echo_n:
            self._echo_i = 0
            self._echo_bad = False
        self._echo_n += n
        self._echo_deadline = time.ticks_add(now, ECHO_MS + wire_ms)
        self.tx_frames += 1
        self.tx_bytes += n

    def read(self, now):
        """Move what arrived into self.rx; returns n: self.rx[0:n] are bus bytes, not our echo."""
        uart = self.uart
        if self._echo_n:
            if not self._take_echo(now):
                return 0
        avail = uart.any()
        if not avail:
            return 0
        rx = self.rx
        want = avail if avail < len(rx) else len(rx)
        self._taken += want  # before: a stamp while readinto runs counts them as arrived
        n = uart.readinto(rx, want) or 0
        self._taken += n - want
        self.rx_bytes += n
        return n

    def _take_echo(self, now):
        """Consume our own echo, all that has arrived; True when it is all seen (or given up:
        nothing more came by the deadline). What arrived while we sent is echo, however late
        it is read (a chain of frames, then the guard before a sync)."""
        uart = self.uart
        echo = self._echo_rx
        while self._echo_i < self._echo_n:
            avail = uart.any()
            if not avail:
                if time.ticks_diff(now, self._echo_deadline) > 0:
                    self.echo_missing += 1
                    self._echo_n = 0
                    return True
                return False
            want = self._echo_n - self._echo_i
            if want > len(echo):
                want = len(echo)
            want = avail if avail < want else want
            self._taken += want
            got = uart.readinto(echo, want) or 0
            self._taken += got - want
            if not got:
                return False
            if self.compares:  # see above: a timer-released port only counts its echo
                sent = self._sent
                base = self._echo_i
                for i in range(got):
                    if echo[i] != sent[base + i]:
                        self._echo_bad = True
            self._echo_i += got
        if self._echo_bad:
            self.collisions += 1
        self._echo_n = 0
        return True
