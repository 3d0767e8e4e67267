"""Debounce of one digital input: a level counts once it has been read unchanged for `ms`.

    d = Debounce(50)
    d.feed(now_ms, level)   # True when the debounced level changed; d.level is -1 until known
    d.reset()               # back to unknown (after a stale input: an old level is not trusted)

Times are ticks (time.ticks_diff), so the wrap of the tick counter does not matter as long as the
input is fed at least every few days (a stale input is reset by its owner long before that).
"""

from time import ticks_diff


class Debounce:
    def __init__(self, ms):
        self.ms = ms
        self.level = -1  # debounced level: -1 unknown, 0, 1
        self._cand = -1
        self._since = 0

    def reset(self):
        self.level = -1
        self._cand = -1

    def settled(self, level):
        """True when feeding `level` would change nothing (it is the level, and no other
        candidate is pending)."""
        return self.level == level and self._cand == level

    def feed(self, now, level):
        """Feed one raw sample (0/1). Return True if the debounced level changed."""
        if level != self._cand:
            self._cand = level
            self._since = now
            if self.ms > 0:
                return False
        if level != self.level and ticks_diff(now, self._since) >= self.ms:
            self.level = level
            return True
        return False
