"""The board's input front ends and output stages, as docs/hardware.md draws them.

The simulator drives the firmware's pins from these circuits and the scenario's `system` (the
hardware), never from the firmware's settings: a setting that does not match the hardware then
shows as a user would see it.

- Mains detector (section 5): the input is pulled up on the board; the detector's optocoupler
  pulls it low while AC is present. No detector fitted: the pull-up alone, high.
- Remote on/off (section 5): L has a pull-up, H a pull-down; each detector's output follows its
  terminal (the L pin reads 0 when L is pulled low, the H pin 1 when H is high). `remote_wiring`
  says how the user wired the terminal: "bridge" (a switch across L-H: both read high when
  closed), "l_low" (a contact from L to minus), "h_high" (a voltage on H). The pin levels of a
  closed bridge and of H driven high are the same: telling them apart needs the board's own
  bridge test, which is not modelled.
- BTV loop (section 5, electrical form unknown): the simulator's assumption is one logic line per
  signal (`btv_lines`: signal -> input number), each reading `btv_ok_level` while its signal says
  OK; an open loop, or the BMS's self-test pulse breaking it, drops every line to "not OK"; an
  input that no line reaches floats.
- Output stages (section 4): high-side switches whose driver has a pull-down: the output is high
  only while the MCU drives its pin at the board profile's "on" level; a floating pin, or one
  driven the other way, leaves the output floating.
"""

BTV_SIGNALS = ("discharge", "charge", "prealarm", "loop", "low_temp", "high_temp", "high_cell")
REMOTE_WIRINGS = ("bridge", "l_low", "h_high")


def mains_level(fitted, ac_in):
    """The mains detector pin: low only while a fitted detector sees AC."""
    return 0 if fitted and ac_in else 1


def remote_levels(wiring, on):
    """(L pin, H pin) for the terminal wired as `wiring`, switched on or off."""
    if not on:
        return 1, 0  # open terminals: L pulled up, H pulled down
    if wiring == "l_low":
        return 0, 0
    return 1, 1  # a closed bridge (about 4.5 V on both) or H driven high


def btv_levels(lines, ok_level, loop, pulse, stuck):
    """{input number: level} for the wired BTV inputs.

    loop: the bank's loop signals (battery.Loop); pulse: the BMS's self-test output breaks
    the loop now; stuck: "discharge" / "charge" line stuck at its OK level, or None."""
    intact = loop.intact and not pulse
    ok = {
        "discharge": loop.discharge_ok,
        "charge": loop.charge_ok,
        "prealarm": not loop.prealarm,
        "loop": True,
        "low_temp": not loop.low_temp,
        "high_temp": not loop.high_temp,
        "high_cell": not loop.high_cell,
    }
    out = {}
    for signal, n in lines.items():
        good = (intact and ok[signal]) or signal == stuck
        out[n] = ok_level if good else 1 - ok_level
    return out


def output_high(pin_mode, pin_value, out_mode, on_level):
    """True when an output stage switches its output high (the pin driven at its "on" level)."""
    return pin_mode == out_mode and pin_value == on_level
