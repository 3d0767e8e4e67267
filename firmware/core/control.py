"""What a controller on the Remote panel port may do to the Multi.

    r = panel_control(src, req, dmc_present, remote_off, ceiling)
    mode = r & 0xFF      # the mode to pass on; MODE_NONE: blocked
    why = r >> 8         # WHY_*: why it was blocked or rewritten (0: passed as it came)

The order is the manual's (3.5, 3.6; docs/protocol.md, "Between the two ports"): protection
first, then remote off, then the Digital Multi Control, then the GX device or the VE.Bus Smart
dongle.
  - DMC present: only the DMC switches the Multi; a GX's or a dongle's control is blocked.
  - Remote off: the Multi is held in low power; nothing from the panel side switches it on (an
    "off" may pass: it asks for what already holds).
  - Protection: `ceiling` is the most the BMS lets the Multi do now (a MODE_*: on, charger-only,
    inverter-only, off). A request for more is rewritten to what the ceiling leaves of it, so a
    GX "on" during a low-cell shutdown reaches the Multi as charger-only (or off), never as "on".
  - A Winmon write (req MODE_NONE: what it does to the Multi cannot be told) passes only while
    nothing restricts the Multi.
Pure and allocation-free: one int in, one int out.
"""

from micropython import const

# firmware/core/codes.py's numbers (tests/host/test_consts.py keeps the copies equal)
_MODE_NONE = const(0)
_MODE_OFF = const(4)
_MODE_ON = const(7)


SRC_GX = const(1)  # a GX device or a VE.Bus Smart dongle
SRC_DMC = const(2)  # a Digital Multi Control
WHY_PASSED = const(0)
WHY_PROTECTION = const(1)
WHY_REMOTE_OFF = const(2)
WHY_DMC = const(3)


def _flags(mode):
    """Mode -> bit 0 charge, bit 1 invert (the 0x3F values: 4 off, 5, 6, 7 on)."""
    return (mode - _MODE_OFF) & 3 if _MODE_OFF <= mode <= _MODE_ON else 0


def panel_control(src, req, dmc_present, remote_off, ceiling):
    if dmc_present and src != SRC_DMC:
        return WHY_DMC << 8
    if req == _MODE_NONE:  # a Winmon write
        if remote_off:
            return WHY_REMOTE_OFF << 8
        if ceiling != _MODE_ON:
            return WHY_PROTECTION << 8
        return _MODE_ON  # passed: "on" stands for "whatever it writes"
    want = _flags(req)
    if remote_off:
        return _MODE_OFF if not want else WHY_REMOTE_OFF << 8
    got = want & _flags(ceiling)
    if got == want:
        return req
    return (WHY_PROTECTION << 8) | (_MODE_OFF + got)
