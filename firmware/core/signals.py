"""Protection's inputs and outputs (preallocated objects), the CH_* change bits, and Held: an
output that switches off at once and on only after a hold. See protection.py for the meaning.
"""

from time import ticks_add, ticks_diff

from micropython import const

from firmware.core.btv import Condition

# firmware/core/codes.py's numbers (tests/host/test_consts.py keeps the copies equal)
_FLOAT = const(0)
_MODE_NONE = const(0)
_MODE_OFF = const(4)
_R_STARTUP = const(0x0400)
_ST_STARTUP = const(0)
_PAT_OFF = const(0)

# the change bits: codes.py's CH_* (tests/host/test_consts.py keeps the copies equal)
_CH_LOAD = const(0x01)
_CH_CHARGE = const(0x02)
_CH_PREALARM = const(0x04)
_CH_MODE = const(0x08)
_CH_LATCH = const(0x10)
_CH_ERROR = const(0x20)
_CH_LOW_POWER = const(0x40)


class Inputs:
    def __init__(self):
        self.btv = Condition()
        self.remote_on = False  # no bridge fitted = off
        self.remote_known = True  # False while the terminal has no debounced reading (boot, stale)
        self.mains = False
        self.ac_in = False
        self.multi_present = False
        self.multi_version = 0
        self.multi_assistant = -1
        self.multi_mode = _MODE_NONE
        self.dmc_present = False
        self.dmc_request = _MODE_NONE
        self.gx_request = _MODE_NONE


class Outputs:
    def __init__(self):
        self.load = _FLOAT
        self.charge = _FLOAT
        self.prealarm = _FLOAT
        self.multi_mode = _MODE_OFF
        self.multi_ceiling = _MODE_OFF
        self.allow_charge = False
        self.allow_discharge = False
        self.charge_rate = 0
        self.bat_prealarm = False
        self.low_power = False
        self.error = 0
        self.led_status = _PAT_OFF
        self.led_cell = _PAT_OFF
        self.led_high = _PAT_OFF
        self.state = _ST_STARTUP
        self.reasons = _R_STARTUP
        self.latched = False
        self.latch_reason = 0
        self.changed = 0


_DAY_MS = const(86_400_000)  # well inside ticks_diff's range (2**29 ms on a board)


class Held:
    """An on/off output that switches off at once and on only after hold_ms off.

    How long it has been off is off_s whole seconds + the time since off_at: off_at moves on a
    day at a time while off, so the tick wrap (12.4 days on a board) never shortens it."""

    def __init__(self):
        self.on = False
        self.off_at = 0
        self.off_s = 0
        self.ripe = True  # the hold after the last switch-off has run out
        self.switched_off = False  # has switched off since boot (else: off since boot)

    def want(self, want, now, hold_ms):
        """Drive towards `want`; return True if the output changed."""
        if self.on:
            if want:
                return False
            self.on = False
            self.off_at = now
            self.off_s = 0
            self.ripe = False
            self.switched_off = True
            return True
        off = ticks_diff(now, self.off_at)
        if off >= _DAY_MS:
            self.off_at = ticks_add(now, _DAY_MS - off)  # off_at + one day
            self.off_s += _DAY_MS // 1000
            off -= _DAY_MS
        if not self.ripe and off >= hold_ms:
            self.ripe = True  # latched, so the tick wrap cannot undo it
        if want and self.ripe:
            self.on = True
            return True
        return False

    def off_for_s(self, now):
        """Whole seconds off since the last switch-off (-1: off since boot)."""
        if not self.switched_off:
            return -1
        return self.off_s + ticks_diff(now, self.off_at) // 1000
