"""LED patterns of the manual (section 5.2) and the level of each LED at a given tick.

Status (blue):    PAT_OFF = BMS off / low-power mode, or no Multi to send info frames to;
                  PAT_HEARTBEAT = a short flash about every 10 s while the Multi is on and info
                  frames are sent; PAT_LISTEN = two short flashes 0.3 s apart every 10 s in
                  `listen` mode (nothing sent: not the manual's "info frames" flash);
                  PAT_FAULTY_APP = ~15 Hz flashing, kept for the faulty-application state (the
                  app sets it when it cannot run).
Cell > 2.8 V (blue): PAT_ON while the load disconnect is high and no low cell is signalled.
Cell > 4 V (red):    PAT_ON while chargers are off for high cell or temperature.

    leds = Leds()
    level = leds.level(pattern, now)   # 0 / 1, no allocation
    ms = leds.next_ms(pattern, now)    # after level(): ms until that level changes
"""

from time import ticks_add, ticks_diff

from micropython import const

# the patterns: codes.py's PAT_* (tests/host/test_consts.py keeps the copies equal)
_PAT_OFF = const(0)
_PAT_ON = const(1)
_PAT_HEARTBEAT = const(2)
_PAT_FAULTY_APP = const(3)
_PAT_LISTEN = const(4)

_HEARTBEAT_PERIOD_MS = const(10000)
_HEARTBEAT_FLASH_MS = const(60)
_LISTEN_SECOND_MS = const(300)  # listen mode: the second flash starts this long after the first
_FAULTY_HALF_PERIOD_MS = const(33)  # 66 ms period: about 15 flashes per second


class Leds:
    """Keeps one phase anchor so blinking stays regular across the tick wrap."""

    def __init__(self):
        self._t0 = 0
        self._init = False

    def level(self, pattern, now):
        if pattern == _PAT_OFF:
            return 0
        if pattern == _PAT_ON:
            return 1
        if not self._init:
            self._init = True
            self._t0 = now
        dt = ticks_diff(now, self._t0)
        if dt < 0 or dt >= _HEARTBEAT_PERIOD_MS:  # re-anchor on a period boundary
            self._t0 = now if dt < 0 else ticks_add(now, -(dt % _HEARTBEAT_PERIOD_MS))
            dt = ticks_diff(now, self._t0)
        if pattern == _PAT_HEARTBEAT:
            return 1 if dt < _HEARTBEAT_FLASH_MS else 0
        if pattern == _PAT_LISTEN:
            if dt >= _LISTEN_SECOND_MS:
                dt -= _LISTEN_SECOND_MS
            return 1 if dt < _HEARTBEAT_FLASH_MS else 0
        return 1 if dt % (2 * _FAULTY_HALF_PERIOD_MS) < _FAULTY_HALF_PERIOD_MS else 0

    def next_ms(self, pattern, now):
        """ms from `now` until level(pattern) changes, called after level(pattern, now) (it
        anchors the phase); a steady pattern: one heartbeat period."""
        if pattern == _PAT_OFF or pattern == _PAT_ON:
            return _HEARTBEAT_PERIOD_MS
        dt = ticks_diff(now, self._t0)
        if pattern == _PAT_FAULTY_APP:  # (its phase restarts with each heartbeat period)
            ms = _FAULTY_HALF_PERIOD_MS - dt % _FAULTY_HALF_PERIOD_MS
            return ms if dt + ms < _HEARTBEAT_PERIOD_MS else _HEARTBEAT_PERIOD_MS - dt
        if pattern == _PAT_LISTEN and dt >= _HEARTBEAT_FLASH_MS:
            if dt < _LISTEN_SECOND_MS:
                return _LISTEN_SECOND_MS - dt
            dt -= _LISTEN_SECOND_MS
        if dt < _HEARTBEAT_FLASH_MS:
            return _HEARTBEAT_FLASH_MS - dt
        return _HEARTBEAT_PERIOD_MS - dt - (_LISTEN_SECOND_MS if pattern == _PAT_LISTEN else 0)
