"""RS485 half-duplex driver for one VE.Bus port (256000 baud 8N1, receiver always enabled).

Send sequence (docs/hardware.md, confirmed): DE high, write, wait until the UART reports transmit
done (`txdone()`: the shift register is empty, not just the buffer), DE low. `send()` starts it and
returns at once; the caller polls `finish(now)` from its task, yielding in between, so no task
waits on the wire. The transceiver's receiver stays enabled, so every byte we send comes back:
`read()` first consumes exactly that echo (compared with what was sent: a difference is a
collision), then hands out the bus's bytes. An echo that never arrives is given up `ECHO_MS` after
transmit done.

Receive buffer: at 256000 baud the bus carries 25.6 bytes per ms. The UART's own ring buffer
(`RXBUF`) must hold everything that arrives while the asyncio loop is busy elsewhere: the worst
case is a flash write of the event log plus a garbage collection, budgeted at 40 ms -> 1024 bytes.
`read()` drains it in chunks of `chunk` bytes.

No allocation after construction: `uart.write(buf, n)` is MicroPython's stream write with a
length (no slice), readinto with an explicit count never blocks on a UART built with timeout=0.
"""

import time

from machine import Pin
from micropython import const

BAUD = const(256000)
_CHAR_US = const(40)  # 10 bits at 256000 baud: 39 us
RXBUF = const(1024)  # bytes: 40 ms of worst scheduling delay at 25.6 bytes/ms
TXBUF = const(64)  # one stuffed frame fits, so write() never blocks
TX_TIMEOUT_MS = const(10)  # the longest frame takes < 3 ms; after this DE goes low regardless
ECHO_MS = const(5)  # after transmit done, the echo must have been seen within this time


class Rs485:
    def __init__(self, uart, de_pin_id, chunk=128, max_frame=64):
        self.uart = uart
        self.de = Pin(de_pin_id, Pin.OUT, value=0)
        self._write = uart.write
        self.rx = bytearray(chunk)
        self._echo_rx = bytearray(max_frame)
        self._sent = bytearray(max_frame)
        self._echo_n = 0  # bytes of echo expected in total
        self._echo_i = 0  # bytes of echo seen
        self._echo_bad = False
        self._echo_deadline = 0
        self.sending = False
        self._tx_start = 0
        self.tx_frames = 0
        self.tx_bytes = 0
        self.rx_bytes = 0
        self.collisions = 0
        self.echo_missing = 0
        self.tx_timeouts = 0

    def quiet(self):
        """Nothing being sent by us and nothing waiting in the receive buffer."""
        return not self.sending and self._echo_n == 0 and not self.uart.any()

    def send(self, buf, n, now):
        """DE high and queue buf[0:n]. False (nothing done) while a previous frame is going out."""
        if self.sending or self._echo_n:
            return False
        sent = self._sent
        if n > len(sent):
            raise ValueError("frame longer than max_frame")
        for i in range(n):
            sent[i] = buf[i]
        self.de.value(1)
        self._write(buf, n)
        self._echo_n = n
        self._echo_i = 0
        self._echo_bad = False
        self.sending = True
        self._tx_start = now
        self.tx_frames += 1
        self.tx_bytes += n
        return True

    def finish(self, now):
        """Poll after send(): True once the last stop bit is out and DE is low again."""
        if not self.sending:
            return True
        if not self.uart.txdone():
            if time.ticks_diff(now, self._tx_start) <= TX_TIMEOUT_MS:
                return False
            self.tx_timeouts += 1
        self.de.value(0)
        self.sending = False
        self._echo_deadline = time.ticks_add(now, ECHO_MS)
        return True

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
        n = uart.readinto(rx, avail if avail < len(rx) else len(rx)) or 0
        self.rx_bytes += n
        return n

    def _take_echo(self, now):
        """Consume our own echo; True when it is all seen (or given up)."""
        want = self._echo_n - self._echo_i
        avail = self.uart.any()
        got = 0
        if avail:
            got = self.uart.readinto(self._echo_rx, avail if avail < want else want) or 0
        sent = self._sent
        echo = self._echo_rx
        base = self._echo_i
        for i in range(got):
            if echo[i] != sent[base + i]:
                self._echo_bad = True
        self._echo_i = base + got
        if self._echo_i >= self._echo_n:
            if self._echo_bad:
                self.collisions += 1
            self._echo_n = 0
            return True
        if not self.sending and time.ticks_diff(now, self._echo_deadline) > 0:
            self.echo_missing += 1
            self._echo_n = 0
            return True
        return False
