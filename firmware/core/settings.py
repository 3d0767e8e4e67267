"""Settings: one table of every key with its type, default and range; validation; JSON load/save.

    s = Settings()                      # every key at its default, as attributes: s.debounce_ms
    s.set("min_hold_s", 20)             # bad: SettingsError("min_hold_s: ..."), old value kept
    errors = s.update({"a": 1, ...})    # applies what is valid; one message per refused key
    s, errors = load("/settings.json")  # missing file -> defaults; bad file -> defaults + message
    save(s, "/settings.json")           # writes <path>.tmp, then os.rename over the old file

The table `SPEC` is the single source: (key, kind, default, lo, hi, help). kind is "int"
(lo <= value <= hi), "bool", or the allowed strings joined by "|" (lo and hi unused).
Cross-key rules live in `_cross_check`. Nothing here runs per tick.
"""

import json
import os

# fmt: off
SPEC = (
    # board and bus side (issue 5 / lib/vebus)
    ("board", "pico|esp32", "pico", 0, 0, "board profile"),
    ("vebus_mode", "listen|bms", "listen", 0, 0,
     "listen: never transmit; bms: answer probes and send status frames (INFERRED layout)"),
    ("bms_version", "int", 1146100, 1146100, 1146999, "version told to the GX (1146 + firmware)"),
    ("status_interval_ms", "int", 1000, 100, 10000, "status frame interval (INFERRED)"),
    ("status_interval_low_power_ms", "int", 10000, 1000, 60000,
     "BMS status frame interval in low-power mode"),
    # protection timing (issue 4)
    ("startup_ok_ms", "int", 2000, 500, 60000,
     "start-up / latched loop fault: the loop must read OK this long before outputs come on"),
    ("prealarm_to_disconnect_s", "int", 30, 30, 3600,
     "least time between pre-alarm high and load disconnect (the manual's 30 s is the minimum)"),
    ("min_hold_s", "int", 10, 1, 3600, "an output that switched off stays off at least this long"),
    ("reduced_charge_rate_pct", "int", 10, 0, 100,
     "charge rate asked of the Multi while charging is not allowed (high cell / temperature)"),
    # BTV loop inputs (the electrical mapping in firmware/core/btv_wire.py)
    ("debounce_ms", "int", 50, 5, 2000, "an input level counts once stable this long"),
    ("stale_ms", "int", 500, 200, 60000, "no fresh sample of an input this long = not allowed"),
    ("btv_discharge_input", "int", 0, 0, 7, "input of the discharge-allowed line"),
    ("btv_charge_input", "int", 1, 0, 7, "input number of the charge-allowed (high cell) line"),
    ("btv_prealarm_input", "int", 2, -1, 7, "input number of the pre-alarm line, -1 = none"),
    ("btv_loop_input", "int", -1, -1, 7,
     "input number of a loop-continuity line, -1 = open loop when both lines say not allowed"),
    ("btv_low_temp_input", "int", -1, -1, 7, "input number of a low-temperature line, -1 = none"),
    ("btv_high_temp_input", "int", -1, -1, 7, "input of a high-temp line, -1 = none"),
    ("btv_ok_low_mask", "int", 0, 0, 255, "bit n set: input n reads 0 when OK"),
    ("btv_selftest", "bool", False, 0, 0,
     "pulse the loop through the test output; an input that does not follow is a loop fault"),
    ("btv_selftest_period_ms", "int", 1000, 100, 60000, "time between self-test pulses"),
    ("btv_selftest_settle_ms", "int", 2, 0, 100, "inputs are checked this long into a pulse"),
    ("btv_selftest_recover_ms", "int", 10, 0, 200, "samples right after a pulse are not used"),
    # remote on/off, mains detector
    ("dmc_present", "bool", False, 0, 0,
     "a Digital Multi Control is on the Remote panel port: only its switch requests count, a GX's"
     " are ignored (the manual)"),
    ("remote_mode", "any|bridge|l_low|h_high", "any", 0, 0,
     "remote on/off wiring: any of the three, or only L-H bridge / L pulled low / H pulled high"),
    ("remote_l_on_level", "int", 0, 0, 1, "level the L input reads when L is pulled low (on)"),
    ("remote_h_on_level", "int", 1, 0, 1, "level the H input reads when H is pulled high (on)"),
    ("mains_detector", "bool", True, 0, 0, "use the mains detector input"),
    ("mains_on_level", "int", 1, 0, 1, "level the mains detector input reads with AC present"),
    # output stages: the pin level that makes each output "high" (the stage may invert)
    ("load_out_high_level", "int", 1, 0, 1, "pin level for load disconnect high (loads on)"),
    ("charge_out_high_level", "int", 1, 0, 1, "pin level for charge disconnect high"),
    ("prealarm_out_high_level", "int", 1, 0, 1, "pin level for pre-alarm high"),
    # event log on flash
    ("event_log_max_bytes", "int", 16384, 1024, 262144,
     "event log file size before it rotates to <path>.1"),
)
# fmt: on

KEYS = tuple(row[0] for row in SPEC)
_ROWS = {row[0]: row for row in SPEC}
_BTV_INPUT_KEYS = (
    "btv_discharge_input",
    "btv_charge_input",
    "btv_prealarm_input",
    "btv_loop_input",
    "btv_low_temp_input",
    "btv_high_temp_input",
)


class SettingsError(ValueError):
    """A refused value; the message starts with the key and says why."""


def describe(key):
    """One line: key, kind, default, range and help (for docs and CLIs)."""
    row = _ROWS.get(key)
    if row is None:
        raise SettingsError("%s: unknown setting" % key)
    k, kind, default, lo, hi, text = row
    if kind == "int":
        rng = "%d..%d" % (lo, hi)
    elif "|" in kind:
        rng = kind.replace("|", " | ")
        kind = "choice"
    else:
        rng = "true | false"
    return "%s (%s, default %s, %s): %s" % (k, kind, json.dumps(default), rng, text)


def check_value(key, value):
    """Raise SettingsError unless `value` is valid for `key` on its own."""
    row = _ROWS.get(key)
    if row is None:
        raise SettingsError("%s: unknown setting" % key)
    kind, lo, hi = row[1], row[3], row[4]
    if kind == "int":
        if type(value) is not int:
            raise SettingsError("%s: must be a whole number, got %s" % (key, _show(value)))
        if value < lo or value > hi:
            raise SettingsError("%s: %d is out of range %d..%d" % (key, value, lo, hi))
    elif kind == "bool":
        if type(value) is not bool:
            raise SettingsError("%s: must be true or false, got %s" % (key, _show(value)))
    elif type(value) is not str or value not in kind.split("|"):
        raise SettingsError(
            "%s: must be one of %s, got %s" % (key, kind.replace("|", ", "), _show(value))
        )


def _show(value):
    try:
        return json.dumps(value)
    except Exception:
        return type(value).__name__


class Settings:
    """Every key of SPEC as an attribute, always valid. Change values only with set/update."""

    def __init__(self):
        for row in SPEC:
            setattr(self, row[0], row[2])

    def __getattr__(self, name):
        """Reached only for a name that is not a setting (__init__ sets every key)."""
        if name not in _ROWS:
            raise AttributeError("%s: unknown setting" % name)
        return self.__dict__[name]  # (tells the type checker: any setting, any type)

    def get(self, key):
        if key not in _ROWS:
            raise SettingsError("%s: unknown setting" % key)
        return getattr(self, key)

    def set(self, key, value):
        """Validate and apply one value; on refusal raise SettingsError and keep the old one."""
        check_value(key, value)
        old = getattr(self, key)
        setattr(self, key, value)
        msg = _cross_check(self)
        if msg:
            setattr(self, key, old)
            raise SettingsError("%s: %s" % (key, msg))

    def update(self, values):
        """Apply each valid key of a dict; return the list of refusal messages (empty = all ok)."""
        errors = []
        if not isinstance(values, dict):
            return ["settings: expected a JSON object of key: value, got %s" % _show(values)]
        for key in sorted(values):
            try:
                self.set(key, values[key])
            except SettingsError as e:
                errors.append(str(e))
        return errors

    def as_dict(self):
        return {k: getattr(self, k) for k in KEYS}

    def changed(self):
        """Only the keys that differ from their default (what save writes)."""
        return {row[0]: getattr(self, row[0]) for row in SPEC if getattr(self, row[0]) != row[2]}


def _cross_check(s):
    """A message if two keys contradict each other, else None."""
    seen = {}
    for key in _BTV_INPUT_KEYS:
        n = getattr(s, key)
        if n >= 0:
            if n in seen:
                return "input %d is already used by %s" % (n, seen[n])
            seen[n] = key
    if 2 * (s.btv_selftest_settle_ms + s.btv_selftest_recover_ms) >= s.btv_selftest_period_ms:
        return "the self-test pulse and recovery must take less than half its period"
    return None


def load(path):
    """(Settings, [messages]). A missing file gives the defaults; nothing here raises."""
    s = Settings()
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return s, []
    try:
        data = json.loads(text)
    except ValueError:
        return s, ["%s: not valid JSON, using the defaults" % path]
    return s, s.update(data)


def save(s, path):
    """Write every key as JSON to path atomically: a power cut leaves the old or the new file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(s.as_dict()))
        try:
            f.flush()
        except AttributeError:
            pass
    os.rename(tmp, path)
