"""Frames between the two VE.Bus segments: the Multi port and the Remote panel port.

    relay = Relay()
    v = relay.from_multi(f, now)    # a good frame on the Multi side -> queued for the panel
    v = relay.from_panel(f, now)    # a good frame decoded on the panel side -> V_* verdict
    v = relay.queue_multi(p, plen, addr)  # a control the arbitration passed (or rewrote)
    relay.own(raw, n, first)        # one of the BMS's own frames, for the panel side too
    n = relay.take_panel(now, quiet, room)  # next frames for the panel port: n bytes (0: none)
                                      # at relay.to_panel.buf[relay.panel_at:], until the next push
    n = relay.take_multi(out, sync_no)  # next panel frame for the BMS's slot on the Multi side

How a real VE.Bus BMS relays is not public: these rules are INFERRED (docs/protocol.md) and kept
here in one place so a bench capture can correct them.
  - Multi side -> panel side: every good frame (the syncs included) goes out verbatim, in order.
    The panel devices then see the Multi's syncs and answer in the slot after each, as they would
    on the Multi's own segment: after a relayed sync the panel port keeps quiet for SLOT_MS and
    then until the panel bus is quiet. A frame that failed its checksum never reached here (the
    decoder drops it), so it is never relayed.
  - Panel side -> Multi side: a good data frame numbered for the last sync relayed (sent on
    the panel side, not just queued: a device answers the sync it heard) waits in a
    bounded queue for the BMS's next slot on the Multi side, where it goes out renumbered for
    that sync (the Multi ignores a wrong number) with its checksum made anew.
  - Control from the panel side (switch frames, Winmon writes) is not relayed here: the caller
    hands it to core's arbitration (V_CONTROL), which passes, blocks or rewrites it.
  - Refused, each counted, and reported once per episode (`news()`): a frame from the Multi's
    address or a sync on the panel side (a looped cable, or a second Multi), a frame numbered for
    another slot, a payload longer than a slot frame may be, a full queue (a device flooding).
  - A looped cable (the panel side hears the Multi side's frames): nothing is relayed while it
    lasts and for _LOOP_HOLD_MS after, so the BMS's copies do not go round and reach the Multi
    port as a second sync.
Bounded: two rings of fixed slots, made once; nothing is allocated per frame.
"""

import time
from struct import pack_into

from micropython import const

from vebus import ADDR_MULTI, T_SYNC, encode_data, next_frame_no
from vebus import catalogue as cat

_RAW_MAX = const(48)  # longest relayed frame on the wire, stuffed (a 0x20 info frame: ~21)
_RAW_FMT = "48s"  # struct's copy of up to _RAW_MAX bytes (zero-padded): one C call, no alloc
try:  # MicroPython's struct copies from any buffer; CPython's "s" takes bytes only
    pack_into(_RAW_FMT, bytearray(_RAW_MAX), 0, memoryview(bytearray(1)))
    _PACKS = True
except Exception:
    _PACKS = False
_PAY_MAX = const(20)  # longest panel payload relayed to the Multi side (a slot frame)
_PAY_FMT = "20s"  # struct's copy of up to _PAY_MAX bytes
# Bytes queued for the panel port. Nothing goes out there from a saturated window's first byte
# until the next sync's slot is past (the Multi port's RX-idle IRQ comes when the line goes
# idle; then the guard before that sync, firmware/bms/panel.py), so all of it waits: at most
# 20 ms x 25.6 bytes a ms = 512 bytes, + the next sync and our own frame (32), + _RAW_MAX of
# room for the copy of the newest and _RAW_MAX left unused where the ring wraps.
_TO_PANEL = const(672)
_TO_PANEL_FRAMES = const(64)  # _TO_PANEL / 10 (a sync, the shortest frame), rounded up
_LOOP_HOLD_MS = const(1000)  # relaying stays off this long after the last looped frame
_TO_MULTI = const(4)  # panel frames waiting for a slot on the Multi side (one per 20 ms)

# Verdicts of from_multi / from_panel.
V_QUEUED = const(0)
V_CONTROL = const(1)  # a control frame: for the arbitration, not relayed as it is
V_LOOP = const(2)  # the Multi's address or a sync on the panel side
V_WRONG_SLOT = const(3)
V_TOO_LONG = const(4)
V_FULL = const(5)
V_NAMES = ("queued", "control", "looped cable", "wrong slot", "too long", "queue full")
SLOT_MS = const(3)  # the panel devices' slot after a relayed sync (as firmware/bms/role.py's)


def is_control(p, plen):
    """A frame that switches the Multi: a switch frame, or a Winmon write (docs/protocol.md:
    0x0E set device state -- 0x0E with 0 only asks --, 0x32 / 0x33 / 0x34 writes, 0x37
    WriteViaID)."""
    if plen >= 2 and p[0] == cat.MSG_SWITCH:
        return True
    if plen < 3 or p[0] != cat.MSG_WINMON:
        return False
    c = p[2]
    if c == 0x0E:
        return plen > 3 and p[3] != 0
    return 0x32 <= c <= 0x34 or c == 0x37


def _copy(fmt, buf, o, src, n):
    """src[:n] into buf at o in one C call: as many bytes as fmt ("<size>s", size >= n) are
    overwritten (zero-padded), so that many must be free there."""
    if _PACKS:
        pack_into(fmt, buf, o, src)
    else:  # CPython (the host's tests)
        buf[o : o + n] = src[:n]


class _Ring:
    """`count` entries of up to `size` bytes, each in its own slot, oldest first: push copies
    in, pop hands the oldest out in place. No growth."""

    def __init__(self, count, size):
        self.buf = bytearray(count * size)
        self.at = [k * size for k in range(count)]  # where each entry starts
        self.lens = bytearray(count)
        self.addr = [0] * count  # the sender's address (panel -> Multi only)
        self.count = count
        self.head = 0
        self.n = 0
        self.last_addr = 0
        self.last_at = 0

    def push(self, src, n, addr=0):
        if self.n == self.count:
            return False
        k = (self.head + self.n) % self.count
        _copy(_PAY_FMT, self.buf, self.at[k], src, n)
        self.lens[k] = n
        self.addr[k] = addr
        self.n += 1
        return True

    def pop(self):
        """Drop the oldest entry; its length (0: empty). It stays in place until the next push:
        buf[last_at:last_at + length]."""
        if not self.n:
            return 0
        k = self.head
        self.last_at = self.at[k]
        self.drop()
        return self.lens[k]

    def pop_into(self, out):
        """pop(), the entry copied into out; its sender's address in `last_addr` (no tuple: a
        tuple would allocate per frame)."""
        self.last_addr = self.addr[self.head]
        n = self.pop()
        o = self.last_at
        b = self.buf
        for i in range(n):
            out[i] = b[o + i]
        return n

    def unpop(self):
        """The entry pop() handed out is the oldest again (no push since: it is still there)."""
        self.head = (self.head - 1) % self.count
        self.n += 1

    def drop(self):
        self.head = (self.head + 1) % self.count
        self.n -= 1

    def clear(self):
        self.head = 0
        self.n = 0


class _Frames(_Ring):
    """Frames of up to _RAW_MAX bytes, oldest first, packed in one ring of `size` bytes (each
    where the newest ended, or at 0 when that is too near the end): a short frame takes only
    its own length. Copied in with one C call."""

    def __init__(self, size, count):
        self.buf = bytearray(size)
        self.at = [0] * count
        self.lens = bytearray(count)
        self.size = size
        self.count = count
        self.head = 0
        self.n = 0
        self.end = 0  # where the newest entry ends
        self.last_at = 0

    def room(self):
        """Where an entry goes now (_RAW_MAX free bytes there: the copy's width); -1: none."""
        if not self.n:
            return 0
        if self.n == self.count:
            return -1
        first = self.at[self.head]
        end = self.end
        if end > first:  # the entries lie in [first, end): after them, or from 0
            if end + _RAW_MAX <= self.size:
                return end
            return 0 if _RAW_MAX <= first else -1
        return end if end + _RAW_MAX <= first else -1  # wrapped: [first, size) and [0, end)

    def push(self, src, n, addr=0):
        k = self.n
        o = self.end
        if not k:
            o = 0
        elif k == self.count or o + _RAW_MAX > self.size or o <= self.at[self.head]:
            o = self.room()  # (the common case above: after the entries, room to the end)
            if o < 0:
                return False
        if _PACKS:
            pack_into(_RAW_FMT, self.buf, o, src)
        else:  # CPython (the host's tests)
            self.buf[o : o + n] = src[:n]
        k += self.head
        if k >= self.count:
            k -= self.count
        self.at[k] = o
        self.lens[k] = n
        self.end = o + n
        self.n += 1
        return True


class Relay:
    def __init__(self):
        self.to_panel = _Frames(_TO_PANEL, _TO_PANEL_FRAMES)
        self.to_multi = _Ring(_TO_MULTI, _PAY_MAX)
        self.sync_no = -1  # N of the last sync sent on the panel side
        self.panel_at = 0  # where take_panel's frame is in to_panel.buf
        self.queued_no = -1  # N of the last sync queued for it (the BMS's frames follow it)
        self._pay = bytearray(_PAY_MAX)
        self._hold_at = 0  # when the last sync went out on the panel side
        self._hold = False
        self.relayed = [0, 0]  # frames delivered: [to the panel side, to the Multi side]
        self.refused = bytearray(len(V_NAMES))  # per verdict, saturating at 255
        self._news = 0  # bit per verdict seen since news() was last asked
        self._told = 0  # bit per verdict already reported in this episode
        self.looped = False  # the panel side hears the Multi side: nothing is relayed
        self._loop_at = 0

    def _refuse(self, v):
        if self.refused[v] < 255:
            self.refused[v] += 1
        self._news |= 1 << v
        return v

    def news(self):
        """Bits (1 << V_*) of refusals new in this episode; an episode ends when a call finds
        none of that kind since the last one, so a flood is reported once, not once per frame."""
        fresh = self._news & ~self._told
        self._told = self._news
        self._news = 0
        return fresh

    def _loop_holds(self, now):
        if self.looped and time.ticks_diff(now, self._loop_at) >= _LOOP_HOLD_MS:
            self.looped = False
        return self.looped

    def from_multi(self, f, now):
        # (every frame of the Multi's comes here: attributes, not method calls, where it can)
        if self.looped and self._loop_holds(now):  # relayed, it would come back: the loop
            return V_LOOP  # would feed itself
        raw = f.raw
        n = len(raw)
        if n > _RAW_MAX:
            return self._refuse(V_TOO_LONG)
        if f.t == T_SYNC:
            self.queued_no = f.frame_no
        if not self.to_panel.push(raw, n):
            return self._refuse(V_FULL)
        return V_QUEUED

    def own(self, raw, n, first=False):
        """The BMS's own frame (sent on the Multi side) goes to the panel side too. first: it
        must not be lost (a probe answer): with the queue full, the oldest frame makes room."""
        r = self.to_panel
        if self.looped:
            return V_LOOP
        if n > _RAW_MAX:
            return self._refuse(V_FULL)
        if first:
            while r.n and r.room() < 0:
                r.drop()
                self._refuse(V_FULL)
        if r.push(raw, n):
            return V_QUEUED
        return self._refuse(V_FULL)

    def from_panel(self, f, now):
        if f.addr == ADDR_MULTI or f.t == T_SYNC:
            # A looped cable (or a second Multi): stop relaying until it has been gone a while,
            # and drop what waits (it would only go round again).
            self.looped = True
            self._loop_at = now
            self.to_panel.clear()
            self.to_multi.clear()
            return self._refuse(V_LOOP)
        p = f.payload
        plen = len(p)
        if is_control(p, plen):
            return V_CONTROL
        if self.looped and self._loop_holds(now):  # the Multi hears it on the looped cable
            return V_LOOP
        if self.sync_no < 0 or f.frame_no != next_frame_no(self.sync_no):
            return self._refuse(V_WRONG_SLOT)
        return self.queue_multi(p, plen, f.addr)

    def queue_multi(self, p, plen, addr):
        """Payload p[0:plen] from `addr` waits for the BMS's slot on the Multi side."""
        if plen > _PAY_MAX:
            return self._refuse(V_TOO_LONG)
        if not self.to_multi.push(p, plen, addr):
            return self._refuse(V_FULL)
        return V_QUEUED

    def take_panel(self, now, quiet, room=_RAW_MAX):
        """The next frames for the panel port, unless its devices' slot after a sync is open: as
        many as lie one after the other in the queue, up to `room` bytes and up to a sync (the
        devices' slot follows it). Their length; their bytes at to_panel.buf[panel_at:] until
        the next push (sent from there in one write: per frame, bytecode costs about as much as
        the frame's wire time on an RP2040)."""
        r = self.to_panel
        left = r.n
        if not left:
            return 0
        if self._hold:
            if time.ticks_diff(now, self._hold_at) < SLOT_MS or not quiet:
                return 0
            self._hold = False
        buf = r.buf
        at = r.at
        lens = r.lens
        k = r.head
        count = r.count
        o = self.panel_at = at[k]
        n = 0
        while left:
            ln = lens[k]
            if at[k] != o + n or n + ln > room:
                break
            a = o + n
            n += ln
            left -= 1
            k += 1
            if k == count:
                k = 0
            if buf[a + 2] == T_SYNC:
                self.sync_no = buf[a + 3]
                self._hold = True
                self._hold_at = now
                break
        self.relayed[0] += r.n - left
        r.head = k
        r.n = left
        return n

    def take_multi(self, out, sync_no):
        """Encode the oldest panel frame for the slot after the sync numbered sync_no."""
        r = self.to_multi
        n = r.pop_into(self._pay)
        if not n:
            return 0
        self.relayed[1] += 1
        return encode_data(out, r.last_addr, next_frame_no(sync_no), self._pay, n)

    def unsent_multi(self):
        """take_multi's frame did not go out: it is the next one again."""
        self.to_multi.unpop()
        self.relayed[1] -= 1

    def pending_multi(self):
        return self.to_multi.n
