"""Stream decoder: bytes in any chunking -> verified frames, rejects counted by reason.

A frame ends at its FF (no FF can occur inside a frame: header bytes are never FF and bytes from
index 4 on are stuffed), so the decoder collects bytes up to each FF into a preallocated buffer
and then looks for a valid frame in that segment: first at its start, then after any leading
garbage or truncated frame. Anything else is rejected with a reason. A buffer that fills up
without an FF (overlong frame or garbage) is cut back to the next possible frame start, so memory
stays bounded whatever the input. Nothing is allocated per byte or per frame.
"""

import array
import sys

from micropython import const

from vebus import _core
from vebus.frame import (
    ADDR_CONTROLLER,
    ADDR_MULTI,
    MIN_LEN,
    NO_MASK,
    SYNC_MARK,
    T_SYNC,
    max_encoded_len,
)

# The per-byte loops (vebus/_core.py): viper native code where the port has the emitter.
_collect, _check, NATIVE = _core.load()
if NATIVE:
    # Machine code now: _core (its source text, the compile's helpers) is not needed again and,
    # unreferenced, leaves the heap (3 KB on an RP2040, where .mpy code is loaded into RAM).
    del _core
    del sys.modules["vebus._core"]
    delattr(sys.modules["vebus"], "_core")

# Reject reasons: index into Decoder.counts (counts[OK] is the number of good frames).
OK = const(0)
CHECKSUM = const(1)  # header fine, checksum wrong (or a sync frame without its 0x55 mark)
OVERLONG = const(2)  # a frame start with no FF within maxlen bytes
TRUNCATED = const(3)  # a frame start cut short by the next frame, or too short to hold one
GARBAGE = const(4)  # bytes that do not start like a frame
SHORT = const(5)  # `00 FB x y FF` with x + y == 0x7F (Multi booting, AC-in dropping): skipped
STUFFING = const(6)  # checksum fine but an escape that is not FA 7A..7F
REASONS = ("ok", "checksum", "overlong", "truncated", "garbage", "short", "stuffing")

MAXLEN = const(80)  # default buffer: longest frame accepted, stuffed, FF included


class Frame:
    """A decoded frame. One instance per Decoder, reused: read it inside the callback only.

    addr: A0 << 8 | A1; t: 0xFD sync / 0xFE data; frame_no: N; msg: payload[0] (message type;
    0x55 for a sync); payload: memoryview of exactly the de-stuffed bytes from index 4 up to the
    checksum; raw: memoryview of exactly the bytes received, A0 .. FF.
    """

    def __init__(self):
        self.addr = 0
        self.t = 0
        self.frame_no = 0
        self.msg = 0
        self.payload = memoryview(b"")
        self.raw = memoryview(b"")

    def is_sync(self):
        return self.t == T_SYNC


def state(cap, strict):
    """The loops' state (vebus/_core.py's `st`) for a buffer of cap bytes."""
    return array.array("i", [0, cap, 0, 0, 0, 1 if strict else 0, 0])


def _nop_frame(frame):
    pass


def _nop_reject(reason, raw):
    pass


class Decoder:
    """Feed it bytes; it calls on_frame(frame) per good frame, on_reject(reason, raw) per reject.

    on_reject gets a reason code (CHECKSUM ... STUFFING; REASONS[code] is its name) and a
    memoryview of the rejected bytes. Views are valid only during the callback. counts[reason]
    counts every outcome, counts[OK] the good frames. last_sync is N of the last sync frame
    (-1: none yet).
    strict (default): only the Multi and controller addresses start a frame; strict=False accepts
    any address at the start of a segment (a sniffer meeting an unknown device).
    """

    def __init__(self, on_frame=None, on_reject=None, maxlen=MAXLEN, strict=True):
        if maxlen < 16:
            raise ValueError("maxlen < 16")
        self._raw = bytearray(maxlen)
        self._pay = bytearray(maxlen)
        self._rv = memoryview(self._raw)
        self._pv = memoryview(self._pay)
        # Exact-length views, each made the first time a length occurs and kept: handing out a
        # frame allocates nothing once a frame of that length has been seen.
        self._rviews = [None] * (maxlen + 1)  # type: list[memoryview | None]
        self._pviews = [None] * (maxlen + 1)  # type: list[memoryview | None]
        self._st = state(maxlen, strict)
        self._on_frame = on_frame or _nop_frame
        self._on_reject = on_reject or _nop_reject
        self.strict = strict  # read-only after construction
        self.frame = Frame()
        self.counts = [0] * len(REASONS)
        self.last_sync = -1
        self._skip = bytearray(32)  # bit m: message type m is skipped
        # Everything _core.collect needs to hand out a frame without returning to bytecode.
        self._ctx = [
            self._raw,
            self._pay,
            self._pviews,
            self._rviews,
            self.counts,
            self._on_frame,
            self,
            None,
            1,
            self._skip,
        ]

    def skip(self, msg):
        """Good frames of message type msg are verified and counted (counts[OK]) but not handed
        to on_frame: a caller that ignores them saves the callback (the bulk of a frame's cost
        on a board). Sync frames are always handed out."""
        if msg != SYNC_MARK:
            self._skip[msg >> 3] |= 1 << (msg & 7)

    def expect(self, plen):
        """Make the views a good frame with a plen-byte payload needs (at any stuffing) now, not
        at the first one: that frame then takes the native path too, with nothing allocated
        (a node answering the sync from an IRQ keeps its first slot's timing)."""
        if self._pviews[plen] is None:
            self._view(self._pviews, self._pv, plen)
        top = min(max_encoded_len(plen), len(self._rviews) - 1)
        for n in range(plen + 6, top + 1):  # A0 A1 T N, the payload, the checksum, FF: unstuffed
            if self._rviews[n] is None:
                self._view(self._rviews, self._rv, n)

    def reset(self):
        """Forget a partial frame (e.g. after a bus silence); counters stay."""
        self._st[0] = 0

    def flush(self):
        """End of input / bus silence: reject a held partial frame (truncated) or garbage."""
        n = self._st[0]
        if n:
            self._st[0] = 0
            self._reject(self._lead_reason(n), n)

    def pending(self):
        """Bytes held waiting for an FF."""
        return self._st[0]

    def rejects(self):
        """Total rejects of every reason."""
        c = self.counts
        return c[1] + c[2] + c[3] + c[4] + c[5] + c[6]

    def feed(self, data, start=0, end=-1):
        """Take data[start:end] (bytes, bytearray or memoryview; end -1 = len(data))."""
        if end < 0:
            end = len(data)
        st = self._st
        st[2] = start
        st[3] = end
        ctx = self._ctx
        f = self.frame
        while True:
            r = _collect(data, st, ctx, f)  # delivers the common frames itself
            if r == 0:
                return
            if r == 2:
                st[0] = self._overflow(st[0])
            elif st[6] > 0:  # a good frame of a length not seen before: make its views
                self._deliver(st[4], st[6])
            else:
                self._segment(st[4], st[6])

    # --- segment analysis -------------------------------------------------------------------

    def _addr_ok(self, j):
        a = (self._raw[j] << 8) | self._raw[j + 1]
        return a == ADDR_MULTI or a == ADDR_CONTROLLER

    def _header(self, j, n, strict):
        """A0 A1 T N at j look like a frame start (needs 4 bytes)."""
        buf = self._raw
        if n - j < 4:
            return False
        t = buf[j + 2]
        if (t != 0xFD and t != 0xFE) or buf[j + 3] > NO_MASK:
            return False
        return (not strict) or self._addr_ok(j)

    def _verify(self, j, n, strict):
        """Frame in raw[j:n] (FF at n-1): payload length > 0 (de-stuffed into _pay) or -reason."""
        st = self._st
        st[4] = n
        st[5] = 1 if strict else 0
        r = _check(self._raw, self._pay, st, j)
        st[5] = 1 if self.strict else 0
        return r

    def _view(self, views, mv, k):
        v = views[k] = mv[:k]
        return v

    def _shift(self, j, n):
        """Move raw[j:n] to the front; return the new length."""
        buf = self._raw
        m = n - j
        for k in range(m):
            buf[k] = buf[j + k]
        return m

    def _reject(self, reason, length):
        self.counts[reason] += 1
        v = self._rviews[length]
        self._on_reject(reason, v if v is not None else self._view(self._rviews, self._rv, length))

    def _deliver(self, n, plen):
        m = self._pay[0]
        if self._skip[m >> 3] & (1 << (m & 7)):
            self.counts[OK] += 1
            return
        buf = self._raw
        f = self.frame
        f.addr = (buf[0] << 8) | buf[1]
        f.t = buf[2]
        f.frame_no = buf[3]
        f.msg = self._pay[0]
        v = self._pviews[plen]
        f.payload = v if v is not None else self._view(self._pviews, self._pv, plen)
        v = self._rviews[n]
        f.raw = v if v is not None else self._view(self._rviews, self._rv, n)
        if f.t == T_SYNC:
            self.last_sync = f.frame_no
        self.counts[OK] += 1
        self._on_frame(f)

    def _lead_reason(self, n):
        """Why the bytes at the start of a segment are not a frame: truncated or garbage."""
        return TRUNCATED if self._header(0, n, self.strict) else GARBAGE

    def _segment(self, n, r):
        """raw[0:n] is not a frame from its start (r: -reason): a frame after garbage or a
        truncated frame? a short frame? else a reject."""
        buf = self._raw
        # Not a frame from the start: a frame after leading garbage / a truncated frame?
        j = 1
        while j + MIN_LEN <= n:
            if self._header(j, n, True):
                r2 = self._verify(j, n, True)
                if r2 > 0:
                    self._reject(self._lead_reason(j), j)
                    n = self._shift(j, n)
                    self._deliver(n, r2)
                    return
            j += 1
        # A short frame at the end?
        if n >= 5 and buf[n - 5] == 0 and buf[n - 4] == 0xFB and buf[n - 3] + buf[n - 2] == 0x7F:
            if n > 5:
                self._reject(self._lead_reason(n - 5), n - 5)
                n = self._shift(n - 5, n)
            self._reject(SHORT, n)
            return
        self._reject(-r if r != -GARBAGE else GARBAGE, n)

    def _could_start(self, j, n):
        """raw[j:n] could be the beginning of a frame or of a short frame."""
        buf = self._raw
        m = n - j
        b0 = buf[j]
        if b0 == 0:
            return m < 2 or buf[j + 1] == 0xFB
        if b0 != 0x83 and b0 != 0x98:
            return False
        if m < 2:
            return True
        if not self._addr_ok(j):
            return False
        if m < 3:
            return True
        t = buf[j + 2]
        if t != 0xFD and t != 0xFE:
            return False
        return m < 4 or buf[j + 3] <= NO_MASK

    def _overflow(self, n):
        """The buffer is full with no FF: drop up to the next possible frame start."""
        j = 1
        while j < n and not self._could_start(j, n):
            j += 1
        self._reject(OVERLONG if self._header(0, n, self.strict) else GARBAGE, j)
        return self._shift(j, n)
