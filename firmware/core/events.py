"""Event log in RAM: a fixed-size ring of (tick, code, reason, arg), and the text of each event.

Every change of an output, of the Multi command and of a fault is recorded by the protection
with its cause; the text is made only when read, in the manual's words, for example
"load disconnect: low cell, 30 s after pre-alarm". Recording allocates nothing.

    log = EventLog(64)
    log.record(now, EV_LOAD_OFF, R_LOW_CELL, 30)
    for t, code, reason, arg in log.entries(): print(text(code, reason, arg))
    log.drain(fn)     # fn(t, code, reason, arg) for each event not drained yet (to flash)
    log.drain(fn, 8)  # at most 8 of them; the rest stay pending

The flash format of the same records is in eventfile.py. Codes 1..31 belong to firmware/core
(codes.py; the board keeps private copies of those it records), 32 and up are the board's
(firmware/app_texts.py); text() names them "unknown event".
"""

from array import array

from micropython import const

# firmware/core/codes.py's EV_LOG_LOST (tests/host/test_consts.py keeps the copies equal)
_EV_LOG_LOST = const(18)


def text(code, reason, arg):
    """The event's cause in the manual's words (firmware/core/texts.py, imported only here: the
    words take no RAM on the board until something reads the log as text)."""
    from firmware.core.texts import event_text

    return event_text(code, reason, arg)


class EventLog:
    """Fixed-size ring; the oldest event is overwritten when full."""

    def __init__(self, size=64):
        self.size = size
        self._t = [0] * size
        self._code = bytearray(size)  # codes fit a byte, reasons 16 bits (codes.R_*)
        self._reason = array("H", bytearray(2 * size))
        self._arg = [0] * size
        self.seq = 0  # events recorded since boot
        self._drained = 0  # seq up to which drain() has handed events out

    def record(self, t, code, reason=0, arg=0):
        i = self.seq % self.size
        self._t[i] = t
        self._code[i] = code
        self._reason[i] = reason
        self._arg[i] = arg
        self.seq += 1

    def __len__(self):
        return self.seq if self.seq < self.size else self.size

    def entries(self):
        """Oldest first: list of (t, code, reason, arg). Allocates: not for the hot path."""
        out = []
        for s in range(self.seq - len(self), self.seq):
            i = s % self.size
            out.append((self._t[i], self._code[i], self._reason[i], self._arg[i]))
        return out

    def texts(self):
        return [text(c, r, a) for _, c, r, a in self.entries()]

    def last(self):
        """The newest (t, code, reason, arg), or None."""
        if not self.seq:
            return None
        i = (self.seq - 1) % self.size
        return (self._t[i], self._code[i], self._reason[i], self._arg[i])

    def pending(self):
        """Events recorded and not drained yet."""
        return self.seq - self._drained

    def drain(self, fn, most=-1):
        """Call fn(t, code, reason, arg) for each event not drained yet, at most `most` of them
        (-1: all; the rest stay pending); return how many.

        If the ring overflowed since the last drain, fn first gets an EV_LOG_LOST event."""
        start = self._drained
        oldest = self.seq - len(self)
        n = 0
        if start < oldest:
            if most == 0:
                return 0
            fn(self._t[oldest % self.size], _EV_LOG_LOST, 0, oldest - start)
            start = oldest
            n += 1
        end = self.seq
        if most >= 0 and most - n < end - start:
            end = start + most - n
        for s in range(start, end):
            i = s % self.size
            fn(self._t[i], self._code[i], self._reason[i], self._arg[i])
            n += 1
        self._drained = end
        return n
