"""The manual's words for the numbers firmware/core keeps: reasons, Multi modes, states, events.

The running firmware only records numbers (codes.py, events.py); these strings are read by host
tools, the simulator, tests and whatever prints the log. The board never imports this module on
its own, so the words stay in flash (a .mpy in ROMFS runs in place) and take no RAM until
something asks for a text (events.text imports it then).

    reason_name(bits)   the most severe reason's name ("battery OK" if none)
    reason_names(bits)  every reason, most severe first, joined by ", "
    primary(bits)       the most severe single reason bit (0 if none)
    MODE_NAMES[mode], STATE_NAMES[state]
    event_text(code, reason, arg)   an event's cause, e.g. "load disconnect: low cell, 30 s after
                        pre-alarm" (events.text calls it)
"""

from firmware.core.codes import (
    EV_BOOT,
    EV_CHARGE_OFF,
    EV_CHARGE_ON,
    EV_ERROR7,
    EV_ERROR15,
    EV_ERROR_CLEARED,
    EV_FAULT_CLEARED,
    EV_FAULT_LATCHED,
    EV_LOAD_OFF,
    EV_LOAD_ON,
    EV_LOG_LOST,
    EV_LOW_POWER,
    EV_MAINS_RESTART,
    EV_MULTI,
    EV_MULTI_SWITCHED,
    EV_PREALARM_OFF,
    EV_PREALARM_ON,
    EV_REMOTE,
    EV_STARTUP_DONE,
    MODE_CHARGER_ONLY,
    MODE_INVERTER_ONLY,
    MODE_NONE,
    MODE_OFF,
    MODE_ON,
    R_CHARGE_BLOCK,
    R_HIGH_CELL,
    R_HIGH_TEMP,
    R_LATCH_LOST,
    R_LOOP_UNSURE,
    R_LOW_CELL,
    R_LOW_TEMP,
    R_NO_AC,
    R_OPEN_LOOP,
    R_PREALARM,
    R_REMOTE_OFF,
    R_STALE,
    R_STARTUP,
    R_STUCK,
    R_UNKNOWN,
    R_VEBUS_ERROR,
)

_ORDER = (
    # first: it qualifies R_OPEN_LOOP (which reason_names then leaves out)
    (R_LOOP_UNSURE, "open loop, or low cell with charging blocked (this wiring cannot tell)"),
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
    (R_CHARGE_BLOCK, "high cell or low temperature"),
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
    if bits & R_LOOP_UNSURE:
        bits &= ~R_OPEN_LOOP
    names = [name for bit, name in _ORDER if bits & bit]
    return ", ".join(names) if names else "battery OK"


def event_text(code, reason, arg):
    """The event's cause in the manual's words."""
    r = reason_name(reason)
    if code == EV_BOOT:
        if arg:
            return "start-up: outputs safe, BTV loop fault latched before reboot (%s)" % r
        return "start-up: outputs safe until the BTV loop reads OK"
    if code == EV_STARTUP_DONE:
        return "start-up: BTV loop OK for %d ms, outputs allowed" % arg
    if code == EV_PREALARM_ON:
        return "pre-alarm: %s" % r
    if code == EV_PREALARM_OFF:
        if arg:
            return "pre-alarm off: loads switched off"
        return "pre-alarm off: %s" % r
    if code == EV_LOAD_OFF:
        if arg >= 0:
            return "load disconnect: %s, %d s after pre-alarm" % (r, arg)
        return "load disconnect: %s" % r
    if code == EV_LOAD_ON:
        if arg < 0:
            return "loads on: battery OK"
        return "loads on: battery OK (off for %d s)" % arg
    if code == EV_CHARGE_OFF:
        return "charge disconnect: %s" % r
    if code == EV_CHARGE_ON:
        if arg < 0:
            return "chargers on: battery OK"
        return "chargers on: battery OK (off for %d s)" % arg
    if code == EV_MULTI:
        name = MODE_NAMES.get(arg, "mode %d" % arg)
        if reason:
            return "Multi: %s (%s)" % (name, reason_names(reason))
        return "Multi: %s" % name
    if code == EV_MAINS_RESTART:
        return "mains detector: AC back, Multi restarted in charger-only"
    if code == EV_FAULT_LATCHED:
        return "BTV loop fault latched: %s" % r
    if code == EV_FAULT_CLEARED:
        return "BTV loop fault cleared: loop OK for %d ms" % arg
    if code == EV_REMOTE:
        if arg:
            return "remote on/off: on"
        return "remote on/off: off (outputs floating, Multi in low power)"
    if code == EV_ERROR15:
        return "VE.Bus error 15: Multi firmware %d is below 415, system held off" % arg
    if code == EV_ERROR7:
        return "VE.Bus error 7: Multi firmware %d needs the VE.Bus BMS or ESS assistant" % arg
    if code == EV_ERROR_CLEARED:
        return "VE.Bus error cleared"
    if code == EV_LOW_POWER:
        return "low-power mode: on" if arg else "low-power mode: off"
    if code == EV_MULTI_SWITCHED:
        if arg:
            # manual 1, LED indicators
            return (
                "Multi switched off (front panel switch): BMS in low power mode, "
                "BMS info frames continue"
            )
        return "Multi switched on again"
    if code == EV_LOG_LOST:
        return "event log: %d events lost before they reached flash" % arg
    return "unknown event %d (%s, %d)" % (code, r, arg)
