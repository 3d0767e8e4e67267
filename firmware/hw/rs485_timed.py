"""The Remote panel port's RS485 driver on the rp2 port: `send()` writes and returns, a hard timer
IRQ drops DE after the last stop bit (why, and what was measured: firmware/hw/rs485.py).

Its own module so that a board with the Multi port alone never loads this code (firmware/hw/
board_start.py imports it only for a panel port on rp2). Nothing here allocates after
construction: the IRQ only reads ticks and txdone and re-inits its timer.
"""

import time

from machine import Timer, disable_irq, enable_irq
from micropython import const

from firmware.hw.rs485 import ECHO_MS, Rs485

# The UART's txbuf: a saturated window's frames (at most 20 ms x 25.6 bytes a ms) written at once
# as they are decoded, so that they go out back to back on their own while nothing may be
# written (the guard before the Multi's next sync, firmware/bms/panel.py)
TXBUF_TIMED = const(512)
# Wire time of n bytes: n * 625 // 16 us (10 bits at 256000 baud: 39.0625 us a byte).
_LEAD_US = const(150)  # the timer IRQ fires this long before the computed wire end: its latency
_SPIN_US = const(80)  # then waits for txdone at most this long past that end before re-arming


class TimedRs485(Rs485):
    compares = False  # copying and comparing the echo costs about its wire time: only counted

    def __init__(self, uart, de_pin_id, timer, chunk=128, max_frame=64):
        """timer: a machine.Timer whose hard IRQ drops DE; the UART's txbuf is TXBUF_TIMED."""
        super().__init__(uart, de_pin_id, chunk, max_frame)
        self._timer = timer
        self._release_cb = self._release  # bound once: the timer IRQ allocates nothing
        self._end_us = time.ticks_us()  # when the last byte written leaves the wire
        self._armed = False  # DE high, the timer due

    def sending(self):
        """DE is high: a frame of ours is on the wire."""
        return self._armed

    def free(self):
        """Bytes send() takes now: as many as the UART's buffer holds behind those on the wire."""
        if not self._armed:
            return TXBUF_TIMED
        return TXBUF_TIMED - self._left_us() * 16 // 625

    def echo_only(self):
        """The RX-idle IRQ, mostly after one of our runs: True when nothing is there to read
        (nothing arrived, or only our echo, consumed now: only counted here). Else False,
        nothing consumed: the caller reads the port as usual."""
        uart = self.uart
        avail = uart.any()
        if not avail:
            return True  # (read already: the IRQ came for bytes since consumed)
        left = self._echo_n - self._echo_i
        if avail > left or avail > len(self._echo_rx):
            return False  # a device's bytes (after our echo)
        uart.readinto(self._echo_rx, avail)
        if avail < left:
            self._echo_i += avail
            return True  # the rest of it comes with its own RX-idle IRQ
        self._echo_n = 0
        return not uart.any()

    def _left_us(self):
        left = time.ticks_diff(self._end_us, time.ticks_us())
        return left if left > 0 else 0

    def send(self, buf, n, now, off=0):
        """buf[off:off + n] behind the frame on the wire (DE held: the timer re-arms for the new
        end), or afresh. False (nothing done) unless free() takes n bytes now.
        (The relay sends ~100 runs a second: locals and attributes here, few calls.)"""
        if n > TXBUF_TIMED or self._armed and n > self.free():
            return False
        wire = n * 625 // 16  # its wire time, then the wire time still to go (us)
        state = disable_irq()  # the timer IRQ must not drop DE between the test and the write
        try:
            if self._armed:
                t = time.ticks_us()
                left = time.ticks_diff(self._end_us, t)
                if left > 0:  # behind the frame on the wire
                    t = self._end_us
                else:  # out, its IRQ not run yet: the new end counts from now
                    left = 0
                self._write(buf, off, n)
                self._end_us = time.ticks_add(t, wire)
                wire += left
            else:
                self.de.value(1)
                self._write(buf, off, n)  # its first start bit at once: the wire end from now
                self._end_us = time.ticks_add(time.ticks_us(), wire)
                self._armed = True
                self._arm(wire - _LEAD_US)
        finally:
            enable_irq(state)
        # its echo to come (only counted here), given up ECHO_MS after the wire end
        if not self._echo_n:
            self._echo_i = 0
        self._echo_n += n
        self._echo_deadline = time.ticks_add(now, ECHO_MS + wire // 1000 + 1)
        self.tx_frames += 1
        self.tx_bytes += n
        return True

    def _arm(self, us):
        self._timer.init(
            mode=Timer.ONE_SHOT,
            freq=1_000_000 // (us if us > 1 else 1),
            callback=self._release_cb,
            hard=True,
        )

    def _release(self, _t):
        """Timer IRQ (hard): DE low once the shift register is empty; re-armed while more bytes
        (a frame written behind) are still to go."""
        uart = self.uart
        if not uart.txdone():
            left = time.ticks_diff(self._end_us, time.ticks_us())
            if left > _LEAD_US:
                self._arm(left - _LEAD_US)
                return
            while not uart.txdone():
                late = -time.ticks_diff(self._end_us, time.ticks_us())
                if late > _SPIN_US:
                    if late < ECHO_MS * 1000:
                        self._arm(_SPIN_US)  # not out yet: look again a little later
                        return
                    self.tx_timeouts += 1  # the UART is stuck: DE drops anyway
                    break
        self.de.value(0)
        self._armed = False
