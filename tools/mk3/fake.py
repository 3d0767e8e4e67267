"""A Multi behind an MK3-USB, seen at the MK2 level: a stand-in serial port for tests.

    clock = FakeClock()
    port = FakeMultiPort(clock)          # write() takes MK2 requests, read() returns the replies
    port.switch_register = 0x10          # the Multi goes charger-only
    port.unanswered = 1                  # the next request gets no reply (as 1-2 % do on VE.Bus)
    port.noise = b"\\x07\\xff..."          # bytes that arrive before the next reply

read() with nothing to return advances the clock by the port timeout, as a real serial port
blocks for its timeout, so a client runs against it in virtual time. Framing is lib/vebus's.
DemoMultiPort is the Multi of `python -m tools.mk3 --demo`, in wall time.
"""

import time

from vebus import mk2


class FakeClock:
    def __init__(self, t=0.0):
        self.t = t

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.t += s


def _u(value, n):
    return (value & ((1 << (8 * n)) - 1)).to_bytes(n, "little")


class FakeMultiPort:
    TIMEOUT_S = 0.05

    def __init__(self, clock=None):
        self.clock = clock or FakeClock()
        self.interface_version = 1170216  # the vector's version frame: 07 FF 56 28 DB 11 00 42 4E
        self.interface_mode = 0x42
        self.address = 0
        self.device_state = 9  # charge
        self.leds_on = 0x01  # mains
        self.leds_blink = 0x00
        self.ubat_raw = 2660  # 26.60 V at scale 0.01
        self.i_inverter_raw = 0
        self.i_charger_raw = 125  # 12.5 A at scale 0.1
        self.switch_register = 0x30  # charge + invert: on
        self.config_flags = 0x00
        self.limits = (20, 500, 160)  # min, max, actual in 0.1 A
        self.ram = {4: 2660, 5: 125}
        self.scale_words = {4: (0x7F9C, 0), 5: (0x800A, 0)}  # 1/100 unsigned, 1/10 signed
        self.unanswered = 0
        self.noise = b""
        self.requests = []
        self.closed = False
        self._rx = bytearray()
        self._out = bytearray(mk2.MAX_FRAME)
        self._dec = mk2.Mk2Decoder(self._on_request)

    # ---- serial port side ----
    def write(self, data):
        self._dec.feed(bytes(data))
        return len(data)

    def read(self, n=1):
        if not self._rx:
            self.clock.sleep(self.TIMEOUT_S)
            return b""
        out = bytes(self._rx[:n])
        del self._rx[:n]
        return out

    def close(self):
        self.closed = True

    # ---- the interface ----
    def _reply(self, cmd, data):
        n = mk2.encode(self._out, cmd, bytes(data))
        self._rx += self._out[:n]

    def _reply_vebus(self, payload):
        n = mk2.encode_vebus(self._out, bytes(payload))
        self._rx += self._out[:n]

    def _on_request(self, frame):
        if frame.cmd < 0:
            return
        cmd, data = frame.cmd, bytes(frame.body[2:])
        self.requests.append((chr(cmd), data))
        if self.unanswered:
            self.unanswered -= 1
            return
        if self.noise:
            self._rx += self.noise
            self.noise = b""
        self._answer(cmd, data)

    def _answer(self, cmd, data):
        c = chr(cmd)
        if c == "V":
            self._reply(cmd, _u(self.interface_version, 4) + bytes((self.interface_mode,)))
        elif c == "A" and len(data) >= 2:
            if data[0] == 1:
                self.address = data[1]
            self._reply(cmd, bytes((data[0], self.address)))
        elif c == "L":
            self._reply(cmd, bytes((self.leds_on, self.leds_blink, 0, 0)))
        elif c == "F" and data:
            self._info(data[0])
        elif c in "WXYZ" and data:
            self._winmon(cmd, data)

    def _info(self, kind):
        head = bytes((0x20, 0x01, 0x01, 0x00, self.device_state))
        if kind == 0:
            self._reply_vebus(
                head
                + b"\x0c"
                + _u(self.ubat_raw, 2)
                + _u(self.i_inverter_raw, 3)
                + _u(self.i_charger_raw, 3)
                + b"\x64"
            )
        elif 1 <= kind <= 4:
            self._reply_vebus(head + bytes((0x09 - kind,)) + bytes(8) + b"\x64")
        elif kind == 5:
            lo, hi, act = self.limits
            self._reply_vebus(
                bytes((0x41, 0, 0, 0, 0, self.config_flags))
                + _u(lo, 2)
                + _u(hi, 2)
                + _u(act, 2)
                + bytes((self.switch_register,))
            )

    def _winmon(self, letter, data):
        if data[0] == 0x36 and len(data) >= 3:
            ram_id = data[1] | data[2] << 8
            if ram_id in self.scale_words:
                s, off = self.scale_words[ram_id]
                self._reply(letter, bytes((0x8E,)) + _u(s, 2) + b"\x8f" + _u(off, 2))
            else:
                self._reply(letter, b"\x90")
        elif data[0] == 0x30 and len(data) >= 2:
            ids = data[1:3]
            if any(i not in self.ram for i in ids):
                self._reply(letter, b"\x90")
                return
            out = bytearray((0x85,))
            for i in ids:
                out += _u(self.ram[i], 2)
            self._reply(letter, out)


class WallClock:
    """FakeClock's interface on the real clock."""

    def __call__(self):
        return time.monotonic()

    def sleep(self, s):
        time.sleep(s)


class DemoMultiPort(FakeMultiPort):
    """A Multi whose BMS opens and closes the BTV loop every PERIOD_S: on, charger-only, on..."""

    PERIOD_S = 10

    def __init__(self, clock=None):
        super().__init__(clock or WallClock())
        self.t0 = self.clock()

    def _answer(self, cmd, data):
        low_cell = int(self.clock() - self.t0) // self.PERIOD_S % 2
        self.switch_register = 0x10 if low_cell else 0x30  # charge only / charge + invert
        super()._answer(cmd, data)
