"""A scripted Multi on a fake UART, for the end-to-end tests (a clock hook, see vclock.py).

Every `period_ms` it sends a sync `83 83 FD N 55 ...`; 8 ms later an 0xE4 AC-info frame and every
fifth period an 0x41 LED frame (the mains bit as `ac_in` says, the switch register as the last
switch frame from the BMS left it: on at first, peers.switch_register). Frame numbers follow
the bus: +1
per frame, counting the BMS's frames it accepts. It reads what the BMS wrote (uart.take_tx()) at
every tick and records each frame with its delay after the last sync and whether its number was
right; it answers the Winmon firmware-version queries 0x05 / 0x06 (0x82 / 0x83 + half of
`version`) 30 ms later. Nothing here is deployed.
"""

import time

from vebus import ADDR_MULTI, Decoder, encode_data, encode_sync, peers
from vebus import catalogue as cat

KEEP = 40


class ScriptedMulti:
    def __init__(self, uart, now, version=2629491, period_ms=20, ac_in=False, keep=KEEP):
        self.keep = keep
        self.uart = uart
        self.version = version
        self.period = period_ms
        self.ac_in = ac_in
        self.running = True
        self.switch = cat.SWITCH_ON  # obeys the BMS's switch frames (0x3F)
        self.n = 0
        self.next_sync = now
        self.sync_at = now
        self.sync_no = -1
        self.syncs = 0
        self.last = None
        self.buf = bytearray(80)
        self.pay = bytearray(32)
        self.dec = Decoder(self._on_bms)
        self.got = []  # the last KEEP: (delay after sync ms, frame_no, expected no, payload)
        self.total = 0
        self.by_msg = {}  # payload type -> frames received
        self.min_delay = 1 << 20
        self.replies = []  # (due tick, payload bytes)
        self._later = []  # (due tick, kind)
        self._now = now
        self.wrong_no = 0
        self.max_delay = -1

    def _send(self, data):
        self.uart.inject(data)

    def _data(self, plen):
        n = encode_data(self.buf, ADDR_MULTI, self.n, self.pay, plen)
        self.n = (self.n + 1) & 0x7F
        self._send(bytes(self.buf[:n]))

    def _on_bms(self, f):
        delay = time.ticks_diff(self._now, self.sync_at)
        want = (self.sync_no + 1) & 0x7F
        p = bytes(f.payload)
        self.got.append((delay, f.frame_no, want, p))
        if len(self.got) > self.keep:
            self.got.pop(0)
        self.total += 1
        self.by_msg[p[0]] = self.by_msg.get(p[0], 0) + 1
        if delay > self.max_delay:
            self.max_delay = delay
        if delay < self.min_delay:
            self.min_delay = delay
        if f.frame_no != want:
            self.wrong_no += 1
            return
        self.n = (f.frame_no + 1) & 0x7F
        if p[0] == cat.MSG_SWITCH and len(p) >= 2:
            self.switch = p[1]
        elif p[0] == cat.MSG_WINMON and len(p) >= 3 and p[2] in (5, 6):
            half = self.version & 0xFFFF if p[2] == 5 else self.version >> 16
            reply = bytes((0, p[1], 0x82 if p[2] == 5 else 0x83, half & 0xFF, half >> 8))
            self.replies.append((time.ticks_add(self._now, 30), reply))

    def frames(self, msg):
        """The BMS frames received with payload type msg (list of (delay, no, want, payload))."""
        return [g for g in self.got if g[3][0] == msg]

    def __call__(self, now):
        self._now = now
        tx = self.uart.take_tx()
        if tx:
            self.dec.feed(tx)
        if now == self.last or not self.running:
            return
        self.last = now
        if time.ticks_diff(now, self.next_sync) >= 0:
            self.next_sync = time.ticks_add(self.next_sync, self.period)
            plen = peers.build_sync(self.pay, 0, now & 0xFFFF)
            n = encode_sync(self.buf, self.n, self.pay, plen)
            self.sync_no = self.n
            self.sync_at = now
            self.syncs += 1
            self.n = (self.n + 1) & 0x7F
            self._send(bytes(self.buf[:n]))
            self._later.append((time.ticks_add(now, 8), 0))
            if self.syncs % 5 == 0:
                self._later.append((time.ticks_add(now, 12), 1))
        keep = []
        for due, kind in self._later:
            if time.ticks_diff(now, due) < 0:
                keep.append((due, kind))
            elif kind == 0:
                self._data(peers.build_ac_info(self.pay, 50000, 26 * 50))
            else:
                leds = 1 if self.ac_in else 0
                sw = peers.switch_register(self.switch)
                self._data(peers.build_led(self.pay, leds, 0, 0, 0, 160, 160, sw))
        self._later = keep
        keep = []
        for due, reply in self.replies:
            if time.ticks_diff(now, due) < 0 or time.ticks_diff(now, self.sync_at) < 4:
                keep.append((due, reply))
            else:
                for i in range(len(reply)):
                    self.pay[i] = reply[i]
                self._data(len(reply))
        self.replies = keep
