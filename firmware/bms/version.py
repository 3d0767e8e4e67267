"""The Multi's firmware version, asked over Winmon in the BMS's slots (CONFIRMED: public MK2
drivers). Winmon 0x05 is answered with 0x82 and the low 16 bits, 0x06 with 0x83 and the high 16
bits; the last three decimal digits (e.g. 2629491 -> 491) go to core's VE.Bus error-15 / error-7
rule. Asked every second for FAST_TRIES rounds while unanswered, then every SLOW_MS.

    q = VersionQuery()
    if ticks_diff(now, q.at) >= 0: plen = q.build(payload, now)  # (while unknown) the next part
    if q.reply(p): ...                            # True once, when both parts are in
    q.full (2629491), q.last3 (491); 0 = not known yet
"""

import time

from micropython import const

from vebus import catalogue as cat

OUR_WINMON_ID = const(0x51)  # our Winmon message id (Venus OS uses 0xE4..0xE7)
_ASK_LO = const(0x05)
_ASK_HI = const(0x06)
_REPLY_LO = const(0x82)
_REPLY_HI = const(0x83)
_RETRY_MS = const(1000)  # 1-2 % of commands go unanswered: ask again
FAST_TRIES = const(10)  # then a Multi that never answers is asked only every ...
SLOW_MS = const(30000)


class VersionQuery:
    def __init__(self):
        self.full = 0
        self.last3 = 0
        self._lo = -1
        self._hi = -1
        self.at = 0  # when the next round is due
        self._part = _ASK_LO
        self.queries = 0  # rounds asked

    def build(self, p, now):
        """This part's query into payload p; returns its length."""
        plen = cat.build_winmon(p, OUR_WINMON_ID, self._part, b"", 0)
        if self._part == _ASK_LO:
            self._part = _ASK_HI
        else:
            self._part = _ASK_LO
            self.queries += 1
            wait = _RETRY_MS if self.queries < FAST_TRIES else SLOW_MS
            self.at = time.ticks_add(now, wait)
        return plen

    def unsent(self, now):
        """The last build's query did not go out: the same part is asked again, now."""
        if self._part == _ASK_HI:
            self._part = _ASK_LO
        else:
            self._part = _ASK_HI
            self.queries -= 1
            self.at = now

    def reply(self, p):
        """A Winmon reply to our id (p[1] == OUR_WINMON_ID); True when the version is complete."""
        code = p[2]
        v = p[3] | (p[4] << 8)
        if code == _REPLY_LO:
            self._lo = v
        elif code == _REPLY_HI:
            self._hi = v
        else:
            return False
        if self._lo >= 0 and self._hi >= 0 and not self.last3:
            self.full = (self._hi << 16) | self._lo
            self.last3 = self.full % 1000
            return True
        return False
