"""firmware/core/settings.py: one table, validation with clear messages, atomic JSON load/save."""

import json
import os

from vmtest import raises

from firmware.core import settings as st
from firmware.core.settings_help import HELP

_TMP = "/tmp" if "tmp" in os.listdir("/") else "."


def _path(name):
    pid = os.getpid() if hasattr(os, "getpid") else 0
    return "%s/core_settings_%s_%d.json" % (_TMP, name, pid)


def _rm(p):
    for q in (p, p + ".tmp"):
        try:
            os.remove(q)
        except OSError:
            pass


def test_defaults_come_from_the_table():
    s = st.Settings()
    for key, _kind, default, _lo, _hi in st.SPEC:
        assert getattr(s, key) == default, key
        st.check_value(key, default)  # every default is valid
        assert HELP[key]
    assert len(HELP) == len(st.KEYS)  # every help text belongs to a setting
    assert s.startup_ok_ms == 2000
    assert s.prealarm_to_disconnect_s == 30
    assert s.min_hold_s == 10
    assert s.debounce_ms == 50
    assert s.vebus_mode == "listen"
    assert s.bms_version == 1146100


def test_contract_keys_are_in_the_table():
    for key in (
        "board",
        "vebus_mode",
        "bms_version",
        "status_interval_ms",
        "status_interval_low_power_ms",
        "btv_discharge_input",
        "btv_ok_low_mask",
        "load_out_high_level",
        "remote_mode",
        "mains_on_level",
    ):
        assert key in st.KEYS, key


def test_unknown_key_is_refused():
    s = st.Settings()
    e = raises(st.SettingsError, s.set, "no_such_key", 1)
    assert str(e) == "no_such_key: unknown setting"


def test_wrong_type_is_refused_and_old_value_kept():
    s = st.Settings()
    e = raises(st.SettingsError, s.set, "min_hold_s", "20")
    assert "min_hold_s: must be a whole number" in str(e)
    e = raises(st.SettingsError, s.set, "min_hold_s", True)  # a bool is not a number here
    assert "whole number" in str(e)
    e = raises(st.SettingsError, s.set, "btv_selftest", 1)
    assert "btv_selftest: must be true or false" in str(e)
    e = raises(st.SettingsError, s.set, "board", "uno")
    assert str(e) == 'board: must be one of pico, esp32, got "uno"'
    assert s.min_hold_s == 10 and s.btv_selftest is False and s.board == "pico"


def test_prealarm_delay_below_30_s_is_refused():
    s = st.Settings()
    e = raises(st.SettingsError, s.set, "prealarm_to_disconnect_s", 29)
    assert str(e) == "prealarm_to_disconnect_s: 29 is out of range 30..3600"
    assert s.prealarm_to_disconnect_s == 30
    s.set("prealarm_to_disconnect_s", 45)
    assert s.prealarm_to_disconnect_s == 45


def test_cross_check_refuses_an_input_used_twice():
    s = st.Settings()
    e = raises(st.SettingsError, s.set, "btv_prealarm_input", 0)
    assert "btv_prealarm_input: input 0 is already used by btv_discharge_input" == str(e)
    assert s.btv_prealarm_input == 2


def test_swapping_two_btv_inputs_is_one_change():
    """Wiring the discharge line to input 1 and the charge line to input 0 is a valid mapping: the
    merged result is checked once, not each key against the old values."""
    s = st.Settings()
    assert s.update({"btv_discharge_input": 1, "btv_charge_input": 0}) == []
    assert (s.btv_discharge_input, s.btv_charge_input) == (1, 0)
    # a three-way rotation, and a change that frees an input for another in the same file
    assert (
        s.update({"btv_discharge_input": 2, "btv_charge_input": 1, "btv_prealarm_input": 0}) == []
    )
    assert s.update({"btv_prealarm_input": -1, "btv_loop_input": 0}) == []
    assert (s.btv_discharge_input, s.btv_charge_input, s.btv_loop_input) == (2, 1, 0)


def test_a_real_input_conflict_names_the_key_that_changed():
    s = st.Settings()
    errors = s.update({"btv_charge_input": 2, "min_hold_s": 20})  # pre-alarm stays on input 2
    assert errors == ["btv_charge_input: input 2 is already used by btv_prealarm_input"]
    assert s.btv_charge_input == 1 and s.min_hold_s == 20  # refused key kept, the rest applied
    errors = s.update({"btv_loop_input": 4, "btv_low_temp_input": 4})  # both new, both refused
    assert errors == [
        "btv_loop_input: input 4 is already used by btv_low_temp_input",
        "btv_low_temp_input: input 4 is already used by btv_loop_input",
    ]
    assert s.btv_loop_input == -1 and s.btv_low_temp_input == -1


def test_self_test_timing_is_checked_on_the_merged_values():
    s = st.Settings()
    s.set("btv_selftest_recover_ms", 100)
    # alone, a 100 ms period with 100 ms recovery is refused; with the recovery cut, it is fine
    assert s.update({"btv_selftest_period_ms": 100, "btv_selftest_recover_ms": 0}) == []
    assert s.btv_selftest_period_ms == 100 and s.btv_selftest_recover_ms == 0
    e = raises(st.SettingsError, s.set, "btv_selftest_settle_ms", 60)
    assert "must take less than half its period" in str(e) and s.btv_selftest_settle_ms == 2


def test_update_applies_valid_keys_and_reports_each_refusal():
    s = st.Settings()
    errors = s.update({"min_hold_s": 20, "debounce_ms": 1, "bogus": 3, "vebus_mode": "bms"})
    assert s.min_hold_s == 20 and s.vebus_mode == "bms"
    assert s.debounce_ms == 50
    assert errors == ["bogus: unknown setting", "debounce_ms: 1 is out of range 5..2000"]
    assert s.update([1, 2]) == ["settings: expected a JSON object of key: value, got [1, 2]"]


def test_describe_gives_range_and_help():
    line = st.describe("prealarm_to_disconnect_s")
    assert line.startswith("prealarm_to_disconnect_s (int, default 30, 30..3600): ")
    assert "true | false" in st.describe("btv_selftest")
    raises(st.SettingsError, st.describe, "nope")


def test_save_then_load_round_trips_atomically():
    p = _path("rt")
    _rm(p)
    s = st.Settings()
    s.set("min_hold_s", 33)
    s.set("remote_mode", "bridge")
    st.save(s, p)
    assert "core_settings_rt" in p
    files = os.listdir(p.rpartition("/")[0] or ".")
    assert (p.rpartition("/")[2] + ".tmp") not in files  # renamed over, nothing left behind
    t, errors = st.load(p)
    assert errors == []
    assert t.min_hold_s == 33 and t.remote_mode == "bridge"
    assert t.as_dict() == s.as_dict()
    # a second save replaces the first file
    s.set("min_hold_s", 44)
    st.save(s, p)
    assert st.load(p)[0].min_hold_s == 44
    _rm(p)


def test_load_missing_file_gives_defaults():
    p = _path("missing")
    _rm(p)
    s, errors = st.load(p)
    assert errors == [] and s.as_dict() == st.Settings().as_dict()


def test_load_bad_json_and_bad_values_keep_defaults_with_messages():
    p = _path("bad")
    with open(p, "w") as f:
        f.write("{not json")
    s, errors = st.load(p)
    assert len(errors) == 1 and "not valid JSON" in errors[0]
    assert s.min_hold_s == 10
    with open(p, "w") as f:
        f.write(json.dumps({"min_hold_s": 0, "startup_ok_ms": 3000}))
    s, errors = st.load(p)
    assert s.startup_ok_ms == 3000 and s.min_hold_s == 10
    assert errors == ["min_hold_s: 0 is out of range 1..3600"]
    _rm(p)


def test_any_damaged_file_gives_the_defaults_and_one_message():
    """Never an exception out of load(): main.build() would reset the board on every boot."""
    p = _path("damaged")
    for raw, why in (
        (b'{"min_hold_s": 20, "x": "\xff"}', "not UTF-8"),
        (b"\xc3", "not UTF-8"),  # a multi-byte character cut short
        (b"", "not valid JSON"),
        (b"\x00" * 64, "not valid JSON"),
        (b"[" * 5000, "not valid JSON"),  # deeper than any parser's stack
    ):
        with open(p, "wb") as f:
            f.write(raw)
        s, errors = st.load(p)
        assert s.as_dict() == st.Settings().as_dict(), raw
        assert len(errors) == 1 and errors[0].startswith(p + ": " + why), (raw, errors)
        assert errors[0].endswith("using the defaults")
    _rm(p)


def test_changed_lists_only_non_defaults():
    s = st.Settings()
    assert s.changed() == {}
    s.set("debounce_ms", 80)
    assert s.changed() == {"debounce_ms": 80}
