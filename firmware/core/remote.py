"""Remote on/off terminal: the three wirings of the manual decode to one on/off.

ON when L and H are joined (bridge), or L is pulled to battery minus, or H is pulled high; OFF in
every other case (no bridge fitted = off). `remote_mode` "any" accepts all three (the manual);
"bridge" / "l_low" / "h_high" accept only that wiring. The board reads the terminal as up to three
logical inputs: the L level, the H level, and `bridged` (a board's own bridge test, if it has
one). Without that test a bridge is read from the levels as the front end of docs/hardware.md
shows it: L's pull-up against H's pull-down puts about 4.5 V on both, so L is not low and H is
high (the same levels as H driven high with L open: that front end cannot tell those two apart).
Levels are debounced like the BTV inputs; a missing sample for `stale_ms` reads OFF.

    r = Remote(settings)
    r.sample(now, l_level, h_level, bridged)   # raw levels (0/1); bridged: 0/1 or -1 = no test;
                                               # True when a debounced level changed
    on = r.on(now)                             # bool
    r.known()                                  # False until debounced, and when stale
"""

from time import ticks_diff

from firmware.core.debounce import Debounce

_ANY = 0
_BRIDGE = 1
_L_LOW = 2
_H_HIGH = 3
_MODES = {"any": _ANY, "bridge": _BRIDGE, "l_low": _L_LOW, "h_high": _H_HIGH}


class Remote:
    def __init__(self, settings):
        s = settings
        self.mode = _MODES[s.remote_mode]
        self.l_on = s.remote_l_on_level
        self.h_on = s.remote_h_on_level
        self.stale_ms = s.stale_ms
        self.l = Debounce(s.debounce_ms)
        self.h = Debounce(s.debounce_ms)
        self.b = Debounce(s.debounce_ms)
        self._t = 0
        self._fresh = False

    def sample(self, now, l_level, h_level, bridged=-1):
        """True when a debounced level changed."""
        self._t = now
        self._fresh = True
        moved = self.l.feed(now, l_level)
        if self.h.feed(now, h_level):
            moved = True
        if bridged < 0:  # no bridge test on the board: L not low and H high (docs/hardware.md)
            bridged = 1 if l_level != self.l_on and h_level == self.h_on else 0
        if self.b.feed(now, bridged):
            moved = True
        return moved

    def known(self):
        """True once L and H have debounced levels (call after on(), which drops stale ones)."""
        return self._fresh and self.l.level >= 0 and self.h.level >= 0

    def on(self, now):
        if self._fresh and ticks_diff(now, self._t) > self.stale_ms:
            self._fresh = False
            self.l.reset()
            self.h.reset()
            self.b.reset()
        if not self._fresh:
            return False
        m = self.mode
        l_low = self.l.level == self.l_on
        h_high = self.h.level == self.h_on
        bridged = self.b.level == 1
        if m == _ANY:
            return l_low or h_high or bridged
        if m == _BRIDGE:
            return bridged
        if m == _L_LOW:
            return l_low
        return h_high
