"""Scenario files: load, validate, fill in the defaults. The format is normative
(docs/simulator.md).

A scenario is a JSON object:

    {"name": "low cell", "duration_s": 600,
     "settings": {...firmware settings overrides...},
     "system": {"batteries": 4, "series": 4, "multi_firmware": 502, "multis": 1,
                "gx": true, "panel": "none", "mains_detector": false, "soc": 0.8,
                "remote_wiring": "bridge"},
     "inputs": [{"t": 0, "load_a": 20}, {"t": 60, "btv": "low_cell"}, ...]}

`system` is the hardware (what is fitted and how it is wired), `settings` the firmware's
configuration: the simulator never derives one from the other.

`load(path)` returns a `Scenario` or raises `ScenarioError` whose message is one line naming the
offending key (`inputs[2].btv: expected one of ...`). Nothing else escapes: a CLI prints it and
exits non-zero.
"""

import json

from tools.sim.frontend import BTV_SIGNALS, REMOTE_WIRINGS

PANELS = ("none", "gx", "dmc", "dongle", "gx+dmc")
BTV_VALUES = ("ok", "prealarm", "low_cell", "high_cell", "low_temp", "high_temp", "open", "model")

# The defaults when a scenario does not say (docs/simulator.md): one 12.8 V battery at 80 %, loop
# driven by the battery model, remote on, AC in present, one Multi with firmware 502, a GX on the
# Multi's side of the bus, nothing on the Remote panel port, no mains detector.
SYSTEM_DEFAULTS = {
    "batteries": 1,
    "series": 1,
    "multi_firmware": 502,
    "multis": 1,
    "gx": True,
    # what sits on the BMS's Remote panel port: a GX there no longer hears the Multi directly;
    # a GX not named here sits on the Multi's side of the bus
    "panel": "none",
    "mains_detector": False,
    "soc": 0.8,
    # the board's wiring (docs/hardware.md; tools/sim/frontend.py): how the user wired remote
    # on/off, and the BTV loop's lines (signal -> input, the level each reads while OK)
    "multi_assistant": True,  # the "VE.Bus BMS" (or ESS) assistant installed in the Multi
    "remote_wiring": "bridge",
    "btv_lines": {"discharge": 0, "charge": 1, "prealarm": 2},
    "btv_ok_level": 1,
}

# The world at t = 0 before the first input record applies.
INITIAL_INPUTS = {
    "btv": "model",
    "remote": "on",
    "ac_in": True,
    "multi": "present",
    "multi_switch": "on",
    "bms": "running",
    "gx_command": None,
    "dongle_command": None,
    "dmc_switch": "on",
    "panel_fault": None,
    "input_stuck": None,
    "bus_noise": 0.0,
    "load_a": 0.0,
    "charge_a": 0.0,
    "temp_c": 25.0,
}

TOP_KEYS = ("name", "duration_s", "settings", "system", "inputs")
MAX_DURATION_S = 400 * 86400


class ScenarioError(ValueError):
    """A scenario the simulator refuses; str() is one line naming the key."""


class Scenario:
    """A validated scenario: `system` with every default filled in, `inputs` sorted by time."""

    def __init__(self, name, duration_s, settings, system, inputs):
        self.name = name
        self.duration_s = duration_s
        self.settings = settings
        self.system = system
        self.inputs = inputs


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _num(where, v, lo=None, hi=None):
    if not _is_num(v) or v != v:
        raise ScenarioError("%s: expected a number, got %s" % (where, json.dumps(v)))
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ScenarioError("%s: %s is out of range %s..%s" % (where, json.dumps(v), lo, hi))
    return float(v)


def _int(where, v, lo, hi):
    if not isinstance(v, int) or isinstance(v, bool):
        raise ScenarioError("%s: expected an integer, got %s" % (where, json.dumps(v)))
    if not lo <= v <= hi:
        raise ScenarioError("%s: %d is out of range %d..%d" % (where, v, lo, hi))
    return v


def _bool(where, v):
    if not isinstance(v, bool):
        raise ScenarioError("%s: expected true or false, got %s" % (where, json.dumps(v)))
    return v


def _choice(where, v, choices):
    if v not in choices:
        names = ", ".join("null" if c is None else c for c in choices)
        raise ScenarioError("%s: expected one of %s, got %s" % (where, names, json.dumps(v)))
    return v


def _system(raw):
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ScenarioError("system: expected an object, got %s" % json.dumps(raw))
    for key in raw:
        if key == "dmc":
            raise ScenarioError('system.dmc: a DMC sits on the Remote panel port: "panel": "dmc"')
        if key not in SYSTEM_DEFAULTS:
            raise ScenarioError(
                "system.%s: unknown key (known: %s)" % (key, ", ".join(SYSTEM_DEFAULTS))
            )
    s = dict(SYSTEM_DEFAULTS)
    s.update(raw)
    s["batteries"] = _int("system.batteries", s["batteries"], 1, 20)
    s["series"] = _int("system.series", s["series"], 1, 4)
    if s["batteries"] % s["series"]:
        raise ScenarioError(
            "system.series: %d batteries cannot be split into strings of %d"
            % (s["batteries"], s["series"])
        )
    s["multi_firmware"] = _int("system.multi_firmware", s["multi_firmware"], 0, 9999)
    s["multis"] = _int("system.multis", s["multis"], 1, 12)
    for key in ("gx", "mains_detector", "multi_assistant"):
        s[key] = _bool("system." + key, s[key])
    s["panel"] = _choice("system.panel", s["panel"], PANELS)
    if "gx" in s["panel"].split("+") and not s["gx"]:
        raise ScenarioError(
            'system.panel: "%s" puts a GX on the Remote panel port, but system.gx'
            " is false" % s["panel"]
        )
    s["soc"] = _num("system.soc", s["soc"], 0, 1)
    s["remote_wiring"] = _choice("system.remote_wiring", s["remote_wiring"], REMOTE_WIRINGS)
    s["btv_ok_level"] = _int("system.btv_ok_level", s["btv_ok_level"], 0, 1)
    lines = s["btv_lines"]
    if not isinstance(lines, dict) or not lines:
        raise ScenarioError("system.btv_lines: expected an object of signal: input number")
    seen = {}
    for sig, n in lines.items():
        where = "system.btv_lines.%s" % sig
        _choice(where, sig, BTV_SIGNALS)
        _int(where, n, 0, 7)
        if n in seen:
            raise ScenarioError("%s: input %d already carries %s" % (where, n, seen[n]))
        seen[n] = sig
    s["btv_lines"] = dict(lines)
    return s


def _input(i, raw, duration_s, batteries):
    where = "inputs[%d]" % i
    if not isinstance(raw, dict):
        raise ScenarioError("%s: expected an object, got %s" % (where, json.dumps(raw)))
    if "t" not in raw:
        raise ScenarioError("%s.t: missing (seconds from the start)" % where)
    rec: dict = {"t": _num(where + ".t", raw["t"], 0, duration_s)}
    if len(raw) < 2:
        raise ScenarioError("%s: nothing to change besides t" % where)
    for key, v in raw.items():
        w = "%s.%s" % (where, key)
        if key == "t":
            continue
        elif key == "btv":
            rec[key] = _choice(w, v, BTV_VALUES)
        elif key == "battery":
            rec[key] = _int(w, v, 0, batteries - 1)
        elif key == "cell_v":
            rec[key] = _num(w, v, 2.0, 4.2)
        elif key == "temp_c":
            rec[key] = _num(w, v, -40, 90)
        elif key in ("load_a", "charge_a"):
            rec[key] = _num(w, v, 0, 10000)
        elif key == "remote":
            rec[key] = _choice(w, v, ("on", "off"))
        elif key == "ac_in":
            rec[key] = _bool(w, v)
        elif key == "multi":
            rec[key] = _choice(w, v, ("present", "absent"))
        elif key == "multi_switch":
            rec[key] = _choice(w, v, ("on", "off"))
        elif key == "bms":
            rec[key] = _choice(w, v, ("running", "absent"))
        elif key in ("gx_command", "dongle_command"):
            rec[key] = _choice(w, v, ("on", "off", "charger_only", None))
        elif key == "dmc_switch":
            rec[key] = _choice(w, v, ("on", "off", "charger_only"))
        elif key == "panel_fault":
            rec[key] = _choice(w, v, ("flood", "loop", None))
        elif key == "input_stuck":
            rec[key] = _choice(w, v, ("atd", "atc", None))
        elif key == "bus_noise":
            rec[key] = _num(w, v, 0, 1)
        else:
            raise ScenarioError("%s: unknown key" % w)
    if "battery" in rec and not ("btv" in rec or "cell_v" in rec or "temp_c" in rec):
        raise ScenarioError("%s.battery: goes together with btv, cell_v or temp_c" % where)
    return rec


def parse(doc, settings_check=None):
    """Validate a decoded JSON document; `settings_check(dict)` may raise ScenarioError."""
    if not isinstance(doc, dict):
        raise ScenarioError("scenario: expected a JSON object at the top level")
    for key in doc:
        if key not in TOP_KEYS:
            raise ScenarioError("%s: unknown key (known: %s)" % (key, ", ".join(TOP_KEYS)))
    if "name" not in doc:
        raise ScenarioError("name: missing")
    name = doc["name"]
    if not isinstance(name, str) or not name:
        raise ScenarioError("name: expected a non-empty string, got %s" % json.dumps(name))
    if "duration_s" not in doc:
        raise ScenarioError("duration_s: missing")
    duration = _num("duration_s", doc["duration_s"], 0, MAX_DURATION_S)
    if duration <= 0:
        raise ScenarioError("duration_s: must be more than 0")
    settings = doc.get("settings", {})
    if not isinstance(settings, dict):
        raise ScenarioError("settings: expected an object, got %s" % json.dumps(settings))
    if settings_check is not None:
        settings_check(settings)
    system = _system(doc.get("system"))
    raw_inputs = doc.get("inputs", [])
    if not isinstance(raw_inputs, list):
        raise ScenarioError("inputs: expected a list, got %s" % json.dumps(raw_inputs))
    inputs = [_input(i, r, duration, system["batteries"]) for i, r in enumerate(raw_inputs)]
    on_panel = system["panel"].split("+")
    for i, rec in enumerate(inputs):
        for key, device in (("dongle_command", "dongle"), ("dmc_switch", "dmc")):
            if key in rec and device not in on_panel:
                raise ScenarioError(
                    'inputs[%d].%s: no %s on the Remote panel port (system.panel is "%s")'
                    % (i, key, device, system["panel"])
                )
    inputs.sort(key=lambda r: r["t"])  # stable: records at the same t keep file order
    return Scenario(name, duration, settings, system, inputs)


def load(path, settings_check=None):
    """Read and validate a scenario file; every failure is a one-line ScenarioError."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ScenarioError("%s: cannot read: %s" % (path, e.strerror or e)) from None
    except UnicodeDecodeError:
        raise ScenarioError("%s: not UTF-8 text" % path) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ScenarioError(
            "%s: not valid JSON (line %d, column %d: %s)" % (path, e.lineno, e.colno, e.msg)
        ) from None
    return parse(doc, settings_check)
