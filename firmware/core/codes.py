"""Shared numbers of firmware/core: output levels, Multi modes, reasons, states; their names.

Reasons are bits of one int (several can hold at once); `reason_name(bits)` gives the most severe
one's name. Multi modes use the VE.Bus switch-frame (0x3F) values: the bus side sends them as is.
"""

from micropython import const

# Output levels of load disconnect / charge disconnect / pre-alarm.
FLOAT = const(0)  # high impedance: loads off / chargers off / no pre-alarm
HIGH = const(1)  # driven high: loads on / chargers on / pre-alarm

# Multi modes (VE.Bus 0x3F switch frame values). MODE_NONE: a GX / DMC asks nothing.
MODE_NONE = const(0)
MODE_OFF = const(4)  # off / sleep: the Multi held in low power
MODE_CHARGER_ONLY = const(5)
MODE_INVERTER_ONLY = const(6)
MODE_ON = const(7)

# Reasons (bits). The first four groups come from the BTV loop; the rest from the system.
R_LOW_CELL = const(0x0001)
R_HIGH_CELL = const(0x0002)
R_LOW_TEMP = const(0x0004)
R_HIGH_TEMP = const(0x0008)
R_PREALARM = const(0x0010)
R_OPEN_LOOP = const(0x0020)
R_STUCK = const(0x0040)  # an input did not follow the self-test pulse
R_STALE = const(0x0080)  # no fresh sample within stale_ms
R_UNKNOWN = const(0x0100)  # no debounced reading yet (just booted)
R_REMOTE_OFF = const(0x0200)
R_STARTUP = const(0x0400)
R_NO_AC = const(0x0800)
R_VEBUS_ERROR = const(0x1000)
R_LATCH_LOST = const(0x2000)  # the latched-fault record could not be read: assume latched

# Groups.
R_LOOP_FAULT = const(0x01E0)  # open loop, stuck, stale, unknown: the loop cannot be trusted
R_LATCHING = const(0x20E0)  # faults that latch (not "no reading yet": that is start-up)
R_NO_CHARGE = const(0x000E)  # high cell, low temperature, high temperature: red LED

# Protection states (what a display shows; the outputs carry the decisions).
ST_STARTUP = const(0)
ST_RUN = const(1)
ST_PREALARM = const(2)
ST_CHARGE_OFF = const(3)  # high cell / temperature: chargers off, loads on
ST_LOW_CELL_OFF = const(4)  # loads off after low cell
ST_LOOP_FAULT = const(5)  # open loop / loop fault, latched
ST_REMOTE_OFF = const(6)
ST_VEBUS_ERROR = const(7)

_ORDER = (
    (R_OPEN_LOOP, "open loop"),
    (R_STUCK, "stuck input"),
    (R_STALE, "stale input"),
    (R_LATCH_LOST, "latched fault record unreadable"),
    (R_UNKNOWN, "no BTV reading yet"),
    (R_REMOTE_OFF, "remote off"),
    (R_STARTUP, "start-up"),
    (R_VEBUS_ERROR, "VE.Bus error"),
    (R_LOW_CELL, "low cell"),
    (R_HIGH_CELL, "high cell"),
    (R_HIGH_TEMP, "high temperature"),
    (R_LOW_TEMP, "low temperature"),
    (R_PREALARM, "battery pre-alarm"),
    (R_NO_AC, "no AC"),
)

MODE_NAMES = {
    MODE_NONE: "no request",
    MODE_OFF: "off",
    MODE_CHARGER_ONLY: "charger-only",
    MODE_INVERTER_ONLY: "inverter-only",
    MODE_ON: "on",
}

STATE_NAMES = (
    "start-up",
    "running",
    "pre-alarm",
    "charge disconnect",
    "load disconnect",
    "BTV loop fault",
    "remote off",
    "VE.Bus error",
)


def primary(bits):
    """The most severe single reason bit of `bits` (0 if none)."""
    for bit, _ in _ORDER:
        if bits & bit:
            return bit
    return 0


def reason_name(bits):
    """Name of the most severe reason in `bits`, in the manual's words ("battery OK" if none)."""
    for bit, name in _ORDER:
        if bits & bit:
            return name
    return "battery OK"


def reason_names(bits):
    """Every reason in `bits`, most severe first, joined by ", "."""
    names = [name for bit, name in _ORDER if bits & bit]
    return ", ".join(names) if names else "battery OK"
