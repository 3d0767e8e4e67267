"""Mains detector input: debounced AC-present flag (polarity `mains_on_level`).

The hardware guide's input is pulled up and the detector's optocoupler pulls it low while AC is
present, so the default `mains_on_level` is 0 and a board with no detector fitted reads no AC.

After a low-cell shutdown the protection restarts the Multi in charger-only when this reads AC
present (needed for older Multis that cannot report AC while off). Disabled (`mains_detector`
false) or stale for `stale_ms`: reads no AC.

    m = Mains(settings)
    m.sample(now, level)            # True when the debounced level changed
    present = m.present(now)
"""

from time import ticks_diff

from firmware.core.debounce import Debounce


class Mains:
    def __init__(self, settings):
        self.enabled = settings.mains_detector
        self.on_level = settings.mains_on_level
        self.stale_ms = settings.stale_ms
        self.d = Debounce(settings.debounce_ms)
        self._t = 0
        self._fresh = False

    def sample(self, now, level):
        """True when the debounced level changed."""
        self._t = now
        self._fresh = True
        return self.d.feed(now, level)

    def present(self, now):
        if self._fresh and ticks_diff(now, self._t) > self.stale_ms:
            self._fresh = False
            self.d.reset()
        return self.enabled and self._fresh and self.d.level == self.on_level
