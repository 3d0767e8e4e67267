"""MK2 serial framing (host <-> MK3-USB interface, 2400 baud 8N1). CONFIRMED: victron-mk3, Victron
'Interfacing with VE.Bus products - MK2 protocol' 3.14.

`len FF cmd data... cs`: len counts the bytes from FF to the end of data; the sum of every byte
(len and cs included) is 0 mod 256. A frame whose second byte is not FF carries VE.Bus data
(0x20 info, 0x21 the GX's BMS/DMC probe, 0x40 panel, 0x41 LED): `len type data... cs`.
The two probe frames are sent verbatim by a GX and sum to 0xF0, not 0: they are recognised as
they are.
"""

from micropython import const

CMD = const(0xFF)  # second byte of a command frame
PROBE_BMS_FRAME = b"\x06\x21\xff\xff\xff\xff\x83\x4a"  # CONFIRMED, sums to 0xF0
PROBE_DMC_FRAME = b"\x06\x21\xff\xff\xff\xff\x80\x4d"  # CONFIRMED, sums to 0xF0
BMS_PROBE = PROBE_BMS_FRAME
DMC_PROBE = PROBE_DMC_FRAME
MAX_FRAME = const(64)  # default Mk2Decoder buffer: longest frame accepted, len and cs included

# Commands (ASCII letters)
CMD_ADDRESS = const(0x41)  # 'A' select address
CMD_VERSION = const(0x56)  # 'V'
CMD_FLAGS = const(0x48)  # 'H'
CMD_LED = const(0x4C)  # 'L'
CMD_INFO = const(0x46)  # 'F n' DC / AC info
CMD_STATE = const(0x53)  # 'S' state + current limit
CMD_WINMON = const(0x57)  # 'W' (X, Y, Z: other Winmon forms)

# Reject reasons (index into Mk2Decoder.counts)
OK = const(0)
CHECKSUM = const(1)
GARBAGE = const(2)
REASONS = ("ok", "checksum", "garbage")


def encode(out, cmd, data=b"", dlen=-1):
    """`len FF cmd data cs` into out[0:]; returns the length. Allocates nothing."""
    if dlen < 0:
        dlen = len(data)
    out[0] = dlen + 2
    out[1] = CMD
    out[2] = cmd
    s = dlen + 2 + CMD + cmd
    for k in range(dlen):
        b = data[k]
        out[3 + k] = b
        s += b
    out[3 + dlen] = (-s) & 0xFF
    return dlen + 4


def encode_vebus(out, payload, plen=-1):
    """`len payload cs` (payload[0] = VE.Bus type, never FF); returns the length."""
    if plen < 0:
        plen = len(payload)
    out[0] = plen
    s = plen
    for k in range(plen):
        b = payload[k]
        out[1 + k] = b
        s += b
    out[1 + plen] = (-s) & 0xFF
    return plen + 2


def sum_ok(buf, n):
    s = 0
    for k in range(n):
        s += buf[k]
    return (s & 0xFF) == 0


def probe_kind(buf, n):
    """0x83 (BMS) or 0x80 (DMC) if buf[0:n] is one of the GX's probe frames, else -1."""
    if n != 8:
        return -1
    for k in range(8):
        b = buf[k]
        if b != PROBE_BMS_FRAME[k] and b != PROBE_DMC_FRAME[k]:
            return -1
    if buf[6] == 0x83 and buf[7] == 0x4A:
        return 0x83
    if buf[6] == 0x80 and buf[7] == 0x4D:
        return 0x80
    return -1


class Mk2Frame:
    """A decoded MK2 frame (reused: read it in the callback). raw: len .. cs; body: the bytes
    between len and cs; cmd: the command letter (command frames) or -1; vtype: the VE.Bus type
    (data frames) or -1; probe: 0x83 / 0x80 for the GX's probe frames, else -1."""

    def __init__(self):
        self.raw = memoryview(b"")
        self.body = memoryview(b"")
        self.cmd = -1
        self.vtype = -1
        self.probe = -1


class Mk2Decoder:
    """Stream decoder for MK2 frames: on_frame(frame), on_reject(reason, raw_view)."""

    def __init__(self, on_frame=None, on_reject=None, maxlen=MAX_FRAME):
        self._buf = bytearray(maxlen)
        self._mv = memoryview(self._buf)
        # Exact-length views, made the first time a length occurs (then no allocation).
        self._views = [None] * (maxlen + 1)  # type: list[memoryview | None]
        self._bodies = [None] * (maxlen - 1)  # type: list[memoryview | None]
        self._n = 0
        self._on_frame = on_frame
        self._on_reject = on_reject
        self.frame = Mk2Frame()
        self.counts = [0] * len(REASONS)

    def feed(self, data, start=0, end=-1):
        if end < 0:
            end = len(data)
        buf = self._buf
        for i in range(start, end):
            buf[self._n] = data[i]
            self._n += 1
            self._drain()

    def pending(self):
        return self._n

    def flush(self):
        """End of input: reject a held partial frame (as garbage)."""
        if self._n:
            self._drop(GARBAGE, self._n)

    def reset(self):
        """Forget a partial frame (do it after a read timeout: MK2 has no end byte)."""
        self._n = 0

    def _drain(self):
        buf = self._buf
        while self._n:
            ln = buf[0]
            if ln < 2 or ln + 2 > len(buf):
                self._drop(GARBAGE, 1)
                continue
            total = ln + 2
            if self._n < total:
                return
            kind = probe_kind(buf, total)
            if kind < 0 and not sum_ok(buf, total):
                self._drop(CHECKSUM, 1)
                continue
            f = self.frame
            f.raw = self._view(total)
            v = self._bodies[ln]
            if v is None:
                v = self._bodies[ln] = self._mv[1 : 1 + ln]
            f.body = v
            f.probe = kind
            if buf[1] == CMD:
                f.cmd = buf[2]
                f.vtype = -1
            else:
                f.cmd = -1
                f.vtype = buf[1]
            self.counts[OK] += 1
            if self._on_frame:
                self._on_frame(f)
            self._consume(total)

    def _drop(self, reason, k):
        self.counts[reason] += 1
        if self._on_reject:
            self._on_reject(reason, self._view(k))
        self._consume(k)

    def _view(self, k):
        v = self._views[k]
        if v is None:
            v = self._views[k] = self._mv[:k]
        return v

    def _consume(self, k):
        buf = self._buf
        m = self._n - k
        for i in range(m):
            buf[i] = buf[k + i]
        self._n = m


Decoder = Mk2Decoder
