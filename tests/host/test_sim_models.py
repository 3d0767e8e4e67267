"""The simulator's pieces on their own: scenario validation, battery model, virtual clock."""

import asyncio
import json
import time

import pytest

from tools.sim import battery, frontend, scenario, vclock
from tools.sim.battery import Bank
from tools.sim.multi import Multi
from tools.sim.timeline import Timeline


def _load(tmp_path, doc):
    p = tmp_path / "s.json"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return scenario.load(str(p))


def test_defaults_exactly_as_the_issue_lists(tmp_path):
    s = _load(tmp_path, {"name": "x", "duration_s": 10})
    assert s.system == {
        "batteries": 1,
        "series": 1,
        "multi_firmware": 502,
        "multis": 1,
        "gx": True,
        "panel": "none",
        "mains_detector": False,
        "soc": 0.8,
        "multi_assistant": True,
        "remote_wiring": "bridge",
        "btv_lines": {"discharge": 0, "charge": 1, "prealarm": 2},
        "btv_ok_level": 1,
    }
    assert s.inputs == [] and s.settings == {}
    init = scenario.INITIAL_INPUTS
    assert init["btv"] == "model" and init["remote"] == "on" and init["ac_in"] is True


@pytest.mark.parametrize(
    "doc, key",
    [
        ({"duration_s": 5}, "name"),
        ({"name": "x"}, "duration_s"),
        ({"name": "x", "duration_s": "5"}, "duration_s"),
        ({"name": "x", "duration_s": 5, "colour": 1}, "colour"),
        ({"name": "x", "duration_s": 5, "system": {"batteries": 21}}, "system.batteries"),
        ({"name": "x", "duration_s": 5, "system": {"batteries": 3, "series": 2}}, "system.series"),
        ({"name": "x", "duration_s": 5, "system": {"gx": "yes"}}, "system.gx"),
        ({"name": "x", "duration_s": 5, "system": {"volts": 48}}, "system.volts"),
        ({"name": "x", "duration_s": 5, "inputs": [{"t": 1, "btv": "lowcell"}]}, "inputs[0].btv"),
        ({"name": "x", "duration_s": 5, "inputs": [{"t": 9, "remote": "on"}]}, "inputs[0].t"),
        ({"name": "x", "duration_s": 5, "inputs": [{"btv": "ok"}]}, "inputs[0].t"),
        ({"name": "x", "duration_s": 5, "inputs": [{"t": 1}]}, "inputs[0]"),
        ({"name": "x", "duration_s": 5, "inputs": [{"t": 1, "battery": 0}]}, "inputs[0].battery"),
        (
            {"name": "x", "duration_s": 5, "inputs": [{"t": 1, "bus_noise": 2}]},
            "inputs[0].bus_noise",
        ),
        ({"name": "x", "duration_s": 5, "inputs": [{"t": 1, "ac_in": 1}]}, "inputs[0].ac_in"),
        ({"name": "x", "duration_s": 5, "inputs": {"t": 1}}, "inputs"),
        ({"name": "x", "duration_s": 5, "settings": []}, "settings"),
        ({"name": "x", "duration_s": 5, "system": {"dmc": True}}, "system.dmc"),
        ({"name": "x", "duration_s": 5, "system": {"panel": "mk3"}}, "system.panel"),
        ({"name": "x", "duration_s": 5, "system": {"panel": "gx", "gx": False}}, "system.panel"),
        (
            {"name": "x", "duration_s": 5, "inputs": [{"t": 1, "dmc_switch": "off"}]},
            "inputs[0].dmc_switch",
        ),
        (
            {"name": "x", "duration_s": 5, "inputs": [{"t": 1, "panel_fault": "fire"}]},
            "inputs[0].panel_fault",
        ),
    ],
)
def test_malformed_scenario_names_the_key(tmp_path, doc, key):
    with pytest.raises(scenario.ScenarioError) as e:
        _load(tmp_path, doc)
    msg = str(e.value)
    assert msg.startswith(key + ":") or msg.startswith(key + " "), msg
    assert "\n" not in msg


def test_unreadable_or_bad_json_is_one_line(tmp_path):
    with pytest.raises(scenario.ScenarioError, match="cannot read"):
        scenario.load(str(tmp_path / "missing.json"))
    with pytest.raises(scenario.ScenarioError, match="not valid JSON .line 1"):
        _load(tmp_path, '{"name": ')


def test_inputs_sorted_stably_by_time(tmp_path):
    s = _load(
        tmp_path,
        {
            "name": "x",
            "duration_s": 10,
            "inputs": [{"t": 5, "remote": "off"}, {"t": 1, "load_a": 3}, {"t": 5, "remote": "on"}],
        },
    )
    assert [(r["t"], r.get("remote")) for r in s.inputs] == [(1, None), (5, "off"), (5, "on")]


def test_ocv_curve_is_monotonic_and_inverts():
    socs = [i / 200 for i in range(201)]
    volts = [battery.ocv(s) for s in socs]
    assert all(b > a for a, b in zip(volts, volts[1:]))
    for s in socs:
        assert abs(battery.soc_at(battery.ocv(s)) - s) < 1e-9


def test_low_cell_has_prealarm_first_and_clears_only_at_3v2():
    bank = Bank(soc=0.12)
    seen = []
    for _ in range(6 * 3600):
        bank.step(1.0, -40.0)
        c = bank.loop.condition
        if not seen or seen[-1] != c:
            seen.append(c)
        if c == "low_cell":
            break
    assert seen == ["ok", "prealarm", "low_cell"]
    assert not bank.loop.discharge_ok and bank.loop.prealarm and bank.loop.charge_ok
    bank.step(1.0, 0.0)
    assert bank.cell_min() > battery.LOW_CELL_V  # relaxed above 2.8 V but still low cell
    assert bank.loop.condition == "low_cell"
    while bank.cell_min() < battery.LOW_CELL_CLEAR_V:
        assert not bank.loop.discharge_ok
        bank.step(10.0, 20.0)
    assert bank.loop.discharge_ok


def test_high_cell_cycles_while_charging_stops_and_resumes():
    bank = Bank(soc=0.97)
    edges = 0
    last = bank.loop.charge_ok
    for _ in range(4 * 3600):
        bank.step(1.0, 60.0 if bank.loop.charge_ok else 0.0)
        if bank.loop.charge_ok != last:
            edges += 1
            last = bank.loop.charge_ok
    assert edges >= 4  # at least two high-cell periods, each set and cleared
    assert bank.cell_max() < battery.HIGH_CELL_V + 0.05


def test_temperature_blocks_charge_with_hysteresis():
    bank = Bank()
    bank.set_temp(4.0)
    assert bank.loop.condition == "low_temp" and not bank.loop.charge_ok
    assert bank.loop.discharge_ok
    bank.set_temp(6.0)
    assert not bank.loop.charge_ok  # hysteresis: clears at 7 C
    bank.set_temp(7.0)
    assert bank.loop.charge_ok
    bank.set_temp(51.0)
    assert bank.loop.condition == "high_temp"


def test_overrides_per_battery_and_whole_loop():
    bank = Bank(batteries=4, series=4)
    assert abs(bank.volts - 4 * bank.batteries[0].volts) < 0.2
    bank.set_btv("high_cell", index=2)
    assert bank.loop.condition == "high_cell"
    bank.set_btv("open")
    assert not bank.loop.intact and not bank.loop.discharge_ok and not bank.loop.charge_ok
    bank.set_btv("model")
    assert bank.loop.condition == "high_cell"
    bank.set_btv("model", index=2)
    assert bank.loop.condition == "ok"
    bank.set_cell_v(2.7, index=1)
    assert bank.loop.condition == "low_cell"


def test_virtual_loop_runs_hours_instantly_and_ticks_follow():
    loop = vclock.VirtualLoop()
    vclock.install_ticks(loop)
    try:
        wall = time.monotonic()
        hits = []

        async def main():
            t0 = time.ticks_ms()  # pyright: ignore[reportAttributeAccessIssue]
            for _ in range(3):
                await asyncio.sleep(3600)
                hits.append(time.ticks_diff(time.ticks_ms(), t0))  # pyright: ignore
            return loop.time()

        assert loop.run_until_complete(main()) == 3 * 3600
        assert hits == [3600_000, 7200_000, 10800_000]
        assert time.monotonic() - wall < 5
    finally:
        vclock.install_ticks(None)
        loop.close()


def test_multi_rules():
    m = Multi(firmware=502)
    m.power_up(0.0)
    assert m.mode(5.0) == "on"  # startup grace
    assert m.mode(11.0) == "emergency" and m.charge(11.0) == "reduced"
    assert m.charge_amps(11.0) == 5.0
    m.heard_bms(11.0, True, True, False, 0, 255)
    assert m.mode(12.0) == "on" and m.charge(12.0) == "full"
    m.heard_bms(12.0, True, False, True, 0, 255)
    assert m.mode(12.5) == "charger_only"
    m.ac_in = False
    assert m.charge(12.5) == "zero" and not m.inverting(12.5)
    old = Multi(firmware=400)
    old.power_up(0.0)
    old.heard_bms(1.0, True, True, False, 0, 255)
    assert old.error(2.0) == 15 and old.mode(2.0) == "off"
    for fw, assistant, err in ((450, False, 7), (450, True, None), (489, False, None)):
        m = Multi(firmware=fw, assistant=assistant)
        m.power_up(0.0)
        assert m.error(1.0) is None  # no BMS heard yet
        m.heard_bms(1.0, True, True, False, 0, 255)
        assert m.error(2.0) == err, (fw, assistant)


def test_timeline_records_changes_only():
    tl = Timeline()
    assert tl.set(0, "a", 1) and not tl.set(1, "a", 1) and tl.set(2.0004, "a", 2)
    assert tl.series("a") == [(0, 1), (2.0, 2)]
    assert tl.value_at("a", 1.5) == 1


def test_front_ends_follow_the_hardware_guide():
    # docs/hardware.md section 5: mains input pulled up, the optocoupler pulls it low with AC.
    assert frontend.mains_level(True, True) == 0 and frontend.mains_level(True, False) == 1
    assert frontend.mains_level(False, True) == 1  # no detector fitted: the pull-up alone
    # remote on/off: open terminals = L high (pull-up), H low (pull-down): off in every wiring
    for wiring in frontend.REMOTE_WIRINGS:
        assert frontend.remote_levels(wiring, False) == (1, 0)
    assert frontend.remote_levels("bridge", True) == (1, 1)  # ~4.5 V on both
    assert frontend.remote_levels("l_low", True) == (0, 0)
    assert frontend.remote_levels("h_high", True) == (1, 1)
    # section 4: high only while driven at the profile's level; floating or driven low = off
    assert frontend.output_high(1, 1, 1, 1) and not frontend.output_high(0, 1, 1, 1)
    assert not frontend.output_high(1, 0, 1, 1)


def test_btv_lines_drop_together_when_the_loop_opens_or_the_selftest_pulses():
    bank = Bank()
    lines = {"discharge": 0, "charge": 1, "prealarm": 2, "loop": 5}
    ok = frontend.btv_levels(lines, 1, bank.loop, False, None)
    assert ok == {0: 1, 1: 1, 2: 1, 5: 1}
    assert frontend.btv_levels(lines, 0, bank.loop, False, None) == {0: 0, 1: 0, 2: 0, 5: 0}
    assert frontend.btv_levels(lines, 1, bank.loop, True, None) == {0: 0, 1: 0, 2: 0, 5: 0}
    stuck = frontend.btv_levels(lines, 1, bank.loop, True, "discharge")
    assert stuck[0] == 1 and stuck[1] == 0
    bank.set_btv("low_cell")
    assert frontend.btv_levels(lines, 1, bank.loop, False, None) == {0: 0, 1: 1, 2: 1, 5: 1}
    bank.set_btv("open")
    assert frontend.btv_levels(lines, 1, bank.loop, False, None) == {0: 0, 1: 0, 2: 0, 5: 0}


@pytest.mark.parametrize(
    "system, key",
    [
        ({"remote_wiring": "wire"}, "system.remote_wiring"),
        ({"btv_lines": {"discharge": 0, "charge": 0}}, "system.btv_lines.charge"),
        ({"btv_lines": {"cells": 3}}, "system.btv_lines.cells"),
        ({"btv_lines": {"discharge": 9}}, "system.btv_lines.discharge"),
        ({"btv_ok_level": 2}, "system.btv_ok_level"),
    ],
)
def test_bad_wiring_names_the_key(tmp_path, system, key):
    with pytest.raises(scenario.ScenarioError) as e:
        _load(tmp_path, {"name": "x", "duration_s": 5, "system": system})
    assert str(e.value).startswith(key + ":"), str(e.value)
