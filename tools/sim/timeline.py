"""The timeline: one record per change of a signal, the normative output of a simulation.

`timeline.jsonl` holds `{"t": seconds, "signal": name, "value": v}` objects in time order; the
first record of every signal is its value at t = 0. The signals and their values
(docs/simulator.md):

    load_disconnect, charge_disconnect, pre_alarm   "high" | "floating"
    led_status                          "off" | "heartbeat" | "listen" | "bootloader"
    led_cell_ok, led_high_cell                      "on" | "off"
    multi_mode        "on" | "charger_only" | "inverter_only" | "off" | "low_power" | "emergency"
    multi_error                                     int or null
    multi_charge                                    "full" | "reduced" | "zero"
    gx_allow_to_charge, gx_allow_to_discharge, gx_prealarm      0 | 1
    dvcc_charge_limit_a                             number
    bms_power                                       "normal" | "low"

and, for the plot and for tests, the world around the BMS: `btv` (the loop condition), `bus`
("ok" | "no_bms" | "no_multi"), `cell_min_v`, `cell_max_v` (10 mV steps), `temp_c`, `battery_a`
(1 A steps), `soc` (1 % steps), `ac_in`, `remote`.
"""

import json

NORMATIVE = (
    "load_disconnect",
    "charge_disconnect",
    "pre_alarm",
    "led_status",
    "led_cell_ok",
    "led_high_cell",
    "multi_mode",
    "multi_error",
    "multi_charge",
    "gx_allow_to_charge",
    "gx_allow_to_discharge",
    "gx_prealarm",
    "dvcc_charge_limit_a",
    "bms_power",
)
WORLD = ("btv", "bus", "cell_min_v", "cell_max_v", "temp_c", "battery_a", "soc", "ac_in", "remote")
SIGNALS = NORMATIVE + WORLD


class Timeline:
    """Collects change records; `set()` ignores a value equal to the signal's last one."""

    def __init__(self):
        self.records = []
        self.last = {}

    def set(self, t, signal, value):
        if signal in self.last and self.last[signal] == value:
            return False
        self.last[signal] = value
        self.records.append({"t": round(t, 3), "signal": signal, "value": value})
        return True

    def series(self, signal):
        """[(t, value), ...] of one signal, in time order."""
        return [(r["t"], r["value"]) for r in self.records if r["signal"] == signal]

    def value_at(self, signal, t):
        """The signal's value at time t (the last change at or before t), or None."""
        v = None
        for r in self.records:
            if r["t"] > t:
                break
            if r["signal"] == signal:
                v = r["value"]
        return v

    def write(self, path):
        with open(path, "w", encoding="utf-8") as f:
            for r in self.records:
                f.write(json.dumps(r, separators=(", ", ": ")))
                f.write("\n")


def read(path):
    """Read a timeline.jsonl back into a Timeline (tests, plots of earlier runs)."""
    tl = Timeline()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                tl.records.append(r)
                tl.last[r["signal"]] = r["value"]
    return tl
