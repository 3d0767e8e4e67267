"""Settings: one table of every key with its type, default and range; validation; JSON load/save.

    s = Settings()                      # every key at its default, as attributes: s.debounce_ms
    s.set("min_hold_s", 20)             # bad: SettingsError("min_hold_s: ..."), old value kept
    errors = s.update({"a": 1, ...})    # one change: the valid keys apply, a message per refusal
    s, errors = load("/settings.json")  # missing -> defaults; damaged -> defaults + message
    save(s, "/settings.json")           # writes <path>.tmp, then os.rename over the old file

The table `SPEC` is the single source: (key, kind, default, lo, hi). kind is "int"
(lo <= value <= hi), "bool", or the allowed strings joined by "|" (lo and hi unused). Each key's
help text is in settings_help.HELP (docs and CLIs only: the board never loads those strings).
Cross-key rules live in `_cross_check`. Nothing here runs per tick.
"""

import json
import os

# fmt: off
SPEC = (
    # board and bus side (lib/vebus)
    ("board", "pico|esp32", "pico", 0, 0),
    ("vebus_mode", "listen|bms", "listen", 0, 0),
    ("panel_port", "bool", True, 0, 0),
    ("bms_version", "int", 1146100, 1146100, 1146999),
    ("status_interval_ms", "int", 1000, 100, 10000),
    ("status_interval_low_power_ms", "int", 10000, 1000, 60000),
    # protection timing
    ("startup_ok_ms", "int", 2000, 500, 60000),
    ("prealarm_to_disconnect_s", "int", 30, 30, 3600),
    ("min_hold_s", "int", 10, 1, 3600),
    ("reduced_charge_rate_pct", "int", 10, 0, 100),
    # BTV loop inputs (the electrical mapping in firmware/core/btv_wire.py)
    ("debounce_ms", "int", 50, 5, 2000),
    ("stale_ms", "int", 500, 200, 60000),
    ("btv_discharge_input", "int", 0, 0, 5),
    ("btv_charge_input", "int", 1, 0, 5),
    ("btv_prealarm_input", "int", 2, -1, 5),
    ("btv_loop_input", "int", -1, -1, 5),
    ("btv_low_temp_input", "int", -1, -1, 5),
    ("btv_high_temp_input", "int", -1, -1, 5),
    ("btv_high_cell_input", "int", -1, -1, 5),
    ("btv_ok_low_mask", "int", 0, 0, 63),
    ("btv_selftest", "bool", False, 0, 0),
    ("btv_selftest_period_ms", "int", 1000, 100, 60000),
    ("btv_selftest_settle_ms", "int", 2, 0, 100),
    ("btv_selftest_recover_ms", "int", 10, 0, 200),
    # remote on/off, mains detector
    ("dmc_present", "bool", False, 0, 0),
    ("remote_mode", "any|bridge|l_low|h_high", "any", 0, 0),
    ("remote_l_on_level", "int", 0, 0, 1),
    ("remote_h_on_level", "int", 1, 0, 1),
    ("mains_detector", "bool", True, 0, 0),
    ("mains_on_level", "int", 0, 0, 1),
    # output stages: the pin level that makes each output "high" (the stage may invert)
    ("load_out_high_level", "int", 1, 0, 1),
    ("charge_out_high_level", "int", 1, 0, 1),
    ("prealarm_out_high_level", "int", 1, 0, 1),
    # event log on flash
    ("event_log_max_bytes", "int", 16384, 1024, 262144),
)
# fmt: on

KEYS = tuple(row[0] for row in SPEC)
_BTV_INPUT_KEYS = (
    "btv_discharge_input",
    "btv_charge_input",
    "btv_prealarm_input",
    "btv_loop_input",
    "btv_low_temp_input",
    "btv_high_temp_input",
    "btv_high_cell_input",
)
# BTV inputs of each board profile (firmware/hw/board_*.py PROFILE["btv_inputs"], a test keeps
# them equal): core cannot import the profiles, which need `machine`. SPEC's ranges are the widest.
BOARD_BTV_INPUTS = {"pico": 6, "esp32": 4}
_SELFTEST_KEYS = ("btv_selftest_period_ms", "btv_selftest_settle_ms", "btv_selftest_recover_ms")


class SettingsError(ValueError):
    """A refused value; the message starts with the key and says why."""


def _row(key):
    """SPEC's row of key, None if unknown. A scan: settings are checked at load and on a change,
    never per tick, and a dict of the rows would keep RAM for nothing (600 bytes, unix port)."""
    for row in SPEC:
        if row[0] == key:
            return row
    return None


def describe(key):
    """One line: key, kind, default, range and help (for docs and CLIs; loads settings_help)."""
    row = _row(key)
    if row is None:
        raise SettingsError("%s: unknown setting" % key)
    from firmware.core.settings_help import HELP

    k, kind, default, lo, hi = row
    if kind == "int":
        rng = "%d..%d" % (lo, hi)
    elif "|" in kind:
        rng = kind.replace("|", " | ")
        kind = "choice"
    else:
        rng = "true | false"
    return "%s (%s, default %s, %s): %s" % (k, kind, json.dumps(default), rng, HELP[k])


def check_value(key, value):
    """Raise SettingsError unless `value` is valid for `key` on its own."""
    row = _row(key)
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
    """Every key of SPEC as an attribute, always valid. Change values only with set/update.
    Settings(board): checked for that board profile (the board a file runs on), whose `board`
    setting cannot change; Settings(): the `board` setting picks the profile."""

    def __init__(self, board=None):
        for row in SPEC:
            setattr(self, row[0], row[2])
        self._fixed_board = board
        if board is not None:
            check_value("board", board)
            self.board = board

    def __getattr__(self, name):
        """Reached only for a name that is not a setting (__init__ sets every key)."""
        if _row(name) is None:
            raise AttributeError("%s: unknown setting" % name)
        return self.__dict__[name]  # (tells the type checker: any setting, any type)

    def get(self, key):
        if _row(key) is None:
            raise SettingsError("%s: unknown setting" % key)
        return getattr(self, key)

    def set(self, key, value):
        """Validate and apply one value; on refusal raise SettingsError and keep the old one."""
        errors = self.update({key: value})
        if errors:
            raise SettingsError(errors[0])

    def update(self, values):
        """Apply a dict of changes as one: each value checked on its own, then the merged result
        against the cross-key rules once (so two inputs can swap). Returns one message per
        refused key, sorted (empty = all applied); a refused key keeps its old value."""
        if not isinstance(values, dict):
            return ["settings: expected a JSON object of key: value, got %s" % _show(values)]
        errors = []
        old = {}
        for key in sorted(values):
            try:
                check_value(key, values[key])
            except SettingsError as e:
                errors.append(str(e))
                continue
            old[key] = getattr(self, key)
            setattr(self, key, values[key])
        # A broken rule names its keys, the likeliest culprit first: the first that changed goes
        # back. The old values kept every rule, so each round puts back one key and the loop ends.
        broken = _cross_check(self)
        while broken:
            for key, why in broken:
                if key in old:
                    setattr(self, key, old.pop(key))
                    errors.append("%s: %s" % (key, why))
                    break
            broken = _cross_check(self)
        errors.sort()
        return errors

    def as_dict(self):
        return {k: getattr(self, k) for k in KEYS}

    def changed(self):
        """Only the keys that differ from their default (what save writes)."""
        return {row[0]: getattr(self, row[0]) for row in SPEC if getattr(self, row[0]) != row[2]}


def _cross_check(s):
    """[(key, why), ...] for the keys of the first cross-key rule the values break, else None."""
    board = s.board
    if s._fixed_board is not None and board != s._fixed_board:
        return [("board", "this board runs the %s profile, not %s" % (s._fixed_board, board))]
    n = BOARD_BTV_INPUTS[board]
    has = "the %s board's BTV inputs are 0..%d" % (board, n - 1)
    for key in _BTV_INPUT_KEYS:
        i = getattr(s, key)
        if i >= n:
            return [(key, "no input %d: %s" % (i, has)), ("board", "%s is %d: %s" % (key, i, has))]
    if s.btv_ok_low_mask >> n:
        why = "%d has bits above input %d: %s" % (s.btv_ok_low_mask, n - 1, has)
        return [("btv_ok_low_mask", why), ("board", "btv_ok_low_mask " + why)]
    seen = {}
    for key in _BTV_INPUT_KEYS:
        n = getattr(s, key)
        if n >= 0:
            if n in seen:
                other = seen[n]
                return [
                    (key, "input %d is already used by %s" % (n, other)),
                    (other, "input %d is already used by %s" % (n, key)),
                ]
            seen[n] = key
    if 2 * (s.btv_selftest_settle_ms + s.btv_selftest_recover_ms) >= s.btv_selftest_period_ms:
        why = "the self-test pulse and recovery must take less than half its period"
        return [(k, why) for k in _SELFTEST_KEYS]
    return None


def parse(raw, loads=json.loads):
    """(value, None) from the bytes of a settings file, or (None, why); never raises."""
    try:
        text = raw.decode()
    except ValueError:  # UnicodeError (MicroPython) / UnicodeDecodeError
        return None, "not UTF-8 text"
    try:
        return loads(text), None
    except SettingsError as e:  # raised by a stricter `loads` (the host tools)
        return None, str(e)
    except Exception as e:  # ValueError; RecursionError or MemoryError on a deep or huge file
        return None, "not valid JSON (%s)" % (str(e) or type(e).__name__)


def load(path, board=None):
    """(Settings, [messages]) for `board` (see Settings). A missing file gives the defaults; a
    damaged one (not UTF-8, not JSON) the defaults and one message; nothing here raises."""
    s = Settings(board)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return s, []
    data, why = parse(raw)
    if why:
        return s, ["%s: %s, using the defaults" % (path, why)]
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
