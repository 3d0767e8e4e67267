"""Every scenario of scenarios/ run through the simulator with the unmodified firmware.

Each test asserts the manual's rule the scenario is about, on the normative timeline (and the
firmware's own event log). Durations are short so the whole module stays within a few seconds
per scenario on CPython.
"""

import json
from pathlib import Path

import pytest

from tools.sim import fwhost, scenario
from tools.sim.runner import Sim
from tools.sim.timeline import NORMATIVE

ROOT = Path(__file__).resolve().parents[2]
VALUES = {
    "load_disconnect": {"high", "floating"},
    "charge_disconnect": {"high", "floating"},
    "pre_alarm": {"high", "floating"},
    "led_status": {"off", "heartbeat", "listen", "bootloader"},
    "led_cell_ok": {"on", "off"},
    "led_high_cell": {"on", "off"},
    "multi_mode": {"on", "charger_only", "inverter_only", "off", "low_power", "emergency"},
    "multi_charge": {"full", "reduced", "zero"},
    "gx_allow_to_charge": {0, 1},
    "gx_allow_to_discharge": {0, 1},
    "gx_prealarm": {0, 1},
    "bms_power": {"normal", "low"},
}
_cache = {}


def run(name, **kw):
    key = (name, tuple(sorted(kw.items())))
    if key not in _cache:
        path = str(ROOT / "scenarios" / (name + ".json"))
        scn = scenario.load(path, settings_check=fwhost.check_settings)
        sim = Sim(scn, **kw)
        sim.run()
        _cache[key] = sim
    return _cache[key]


def changes(sim, signal, after=0.0, before=1e12):
    return [(t, v) for t, v in sim.timeline.series(signal) if after <= t < before]


def first(sim, signal, value, after=0.0):
    for t, v in changes(sim, signal, after):
        if v == value:
            return t
    return None


def at(sim, signal, t):
    return sim.timeline.value_at(signal, t)


def final(sim, signal):
    return sim.timeline.last[signal]


def texts(sim):
    return [e["text"] for e in sim.events]


def test_normal_running_and_the_timeline_format():
    sim = run("normal")
    for sig in NORMATIVE:
        recs = sim.timeline.series(sig)
        assert recs and recs[0][0] == 0.0, sig  # first record of each signal at t = 0
        for _t, v in recs:
            if sig in VALUES:
                assert v in VALUES[sig], (sig, v)
    # outputs safe at boot, on once the loop read OK for startup_ok_ms (2 s)
    assert at(sim, "load_disconnect", 0.0) == "floating"
    t_on = first(sim, "load_disconnect", "high")
    assert t_on is not None and 2.0 <= t_on <= 2.5
    assert first(sim, "charge_disconnect", "high") == t_on
    for sig, v in (
        ("load_disconnect", "high"),
        ("charge_disconnect", "high"),
        ("pre_alarm", "floating"),
        ("led_status", "heartbeat"),
        ("led_cell_ok", "on"),
        ("led_high_cell", "off"),
        ("multi_mode", "on"),
        ("multi_error", None),
        ("multi_charge", "full"),
        ("gx_allow_to_charge", 1),
        ("gx_allow_to_discharge", 1),
        ("gx_prealarm", 0),
        ("bms_power", "normal"),
    ):
        assert final(sim, sig) == v, sig
    assert final(sim, "dvcc_charge_limit_a") > 0
    assert texts(sim)[0].startswith("start-up")
    assert sim.summary()["bus"]["frames_by_type"]["heard_by_multi"]["bms_status"] > 0


def test_prealarm_then_low_cell_keeps_30_s():
    sim = run("prealarm_low_cell")
    t_pa = first(sim, "pre_alarm", "high", after=20)
    assert t_pa is not None and 20 <= t_pa <= 20.5
    t_ld = first(sim, "load_disconnect", "floating", after=3)
    # the timeline's times are whole ms: compare in ms (50.05 - 20.05 is 29.999... in floats)
    assert t_ld is not None and 30000 <= round((t_ld - t_pa) * 1000) <= 30500
    assert at(sim, "pre_alarm", t_ld) == "floating"  # pre-alarm drops when the loads go off
    assert at(sim, "led_cell_ok", t_ld + 0.1) == "off"
    # low cell: charger-only, which without AC in means off
    assert first(sim, "multi_mode", "off", after=t_ld) is not None
    assert final(sim, "multi_mode") == "off" and final(sim, "multi_charge") == "zero"
    assert final(sim, "gx_allow_to_discharge") == 0
    assert changes(sim, "charge_disconnect", after=3) == []  # chargers untouched
    assert any("30 s after pre-alarm" in x for x in texts(sim))
    # low-power mode: a status every 10 s keeps the Multi from thinking its BMS fell silent,
    # on either bus (the fast one reads each sync 0-2 ms late by another amount)
    for s in (sim, run("prealarm_low_cell", fidelity="fast")):
        assert "emergency" not in [v for _t, v in changes(s, "multi_mode")]


def test_low_cell_without_prealarm_still_waits_30_s():
    sim = run("low_cell_no_prealarm")
    t_pa = first(sim, "pre_alarm", "high", after=20)
    assert t_pa is not None and t_pa <= 20.5  # the BMS raises pre-alarm itself
    t_ld = first(sim, "load_disconnect", "floating", after=3)
    assert t_ld is not None and round((t_ld - t_pa) * 1000) >= 30000
    # Manual 1, LED indicators, cell > 2.8 V: "Lights when the Load disconnect output is high and
    # the battery cell voltages are above 2.8 V": dark at the low-cell signal, not at t_ld.
    t_dark = first(sim, "led_cell_ok", "off", after=3)
    assert t_dark is not None and 20 <= t_dark <= 20.5
    assert at(sim, "load_disconnect", t_dark + 1) == "high"


def test_high_cell_balancing_cycles():
    sim = run("high_cell_balancing", fidelity="fast")
    offs = [t for t, v in changes(sim, "charge_disconnect", after=3) if v == "floating"]
    ons = [t for t, v in changes(sim, "charge_disconnect", after=3) if v == "high"]
    assert len(offs) >= 2 and len(ons) >= 2, (offs, ons)  # cycles, not one event
    for t in offs:
        assert at(sim, "led_high_cell", t + 0.2) == "on"
        assert at(sim, "multi_charge", t + 1.5) in ("zero", "reduced")
        assert at(sim, "cell_max_v", t) >= 3.75
    for t_off, t_on in zip(offs, ons):
        assert t_on - t_off >= 10  # min_hold_s: no chattering
    assert changes(sim, "load_disconnect", after=3) == []  # loads untouched
    highest = [v for _t, v in changes(sim, "cell_max_v", after=offs[0])]
    assert min(highest) <= 3.6 and max(highest) >= 3.75  # set above 3.75, clears below 3.6


def test_low_temperature_blocks_charging_only():
    # Manual 3.3: "In the event of high cell voltage or low temperature, battery charging must be
    # stopped." One charge line (the default wiring): the charge disconnect, the DVCC limit and
    # the Multi's charger all stop; loads stay on.
    sim = run("low_temp")
    t_off = first(sim, "charge_disconnect", "floating", after=20)
    assert t_off is not None and t_off <= 20.5
    assert at(sim, "led_high_cell", t_off + 0.2) == "on"
    assert at(sim, "dvcc_charge_limit_a", t_off + 2) == 0
    assert at(sim, "gx_allow_to_charge", t_off + 2) == 0
    assert at(sim, "multi_charge", t_off + 2) == "zero" and at(sim, "multi_charge", 79) == "zero"
    assert at(sim, "multi_mode", t_off + 2) == "on"
    assert any("high cell or low temperature" in x for x in texts(sim))
    assert changes(sim, "load_disconnect", after=3) == []
    t_on = first(sim, "charge_disconnect", "high", after=t_off)
    assert t_on is not None and t_on >= 80
    assert final(sim, "led_high_cell") == "off"


def test_charge_block_causes_told_apart_by_their_own_lines():
    # Manual 3.3 (low temperature: charging stopped) and 7, Q4 (high cell: the Multi charges
    # with a reduced current so the cells balance), where the wiring names the cause.
    sim = run("charge_block_causes")
    t_cold = first(sim, "charge_disconnect", "floating", after=20)
    assert t_cold is not None and t_cold <= 20.5
    assert at(sim, "multi_charge", t_cold + 2) == "zero"
    assert at(sim, "dvcc_charge_limit_a", t_cold + 2) == 0
    t_high = first(sim, "charge_disconnect", "floating", after=90)
    assert t_high is not None and t_high <= 90.5
    assert at(sim, "multi_charge", t_high + 2) == "reduced"
    assert at(sim, "dvcc_charge_limit_a", t_high + 2) == 0
    assert at(sim, "led_high_cell", t_high + 0.2) == "on"
    assert changes(sim, "load_disconnect", after=3) == []
    t = texts(sim)
    assert "charge disconnect: low temperature" in t and "charge disconnect: high cell" in t


def test_btv_cable_unplugged_latches():
    sim = run("btv_unplugged")
    t_c = first(sim, "charge_disconnect", "floating", after=20)
    assert t_c is not None and t_c <= 20.5  # chargers off at once
    t_l = first(sim, "load_disconnect", "floating", after=20)
    assert t_l is not None and t_l - 20 >= 30  # loads after the pre-alarm delay
    t_back = first(sim, "load_disconnect", "high", after=t_l)
    assert t_back is not None and t_back >= 92  # loop OK for startup_ok_ms again first
    assert any("latched" in x for x in texts(sim))


def test_status_led_listen_mode_and_multi_gone():
    # Manual 1, LED indicators, status: a flash every 10 s while the Multi is on and info frames
    # are sent. Listen mode sends nothing: a double flash of its own; with the Multi gone (no
    # info frames) dark; back on with it.
    sim = run("status_led")
    assert at(sim, "led_status", 25) == "heartbeat"
    assert at(sim, "multi_mode", 60) != "on" and at(sim, "led_status", 60) == "off"
    assert at(sim, "led_status", 95) == "heartbeat"
    listen = run("status_led_listen")
    assert {v for t, v in changes(listen, "led_status", after=12)} <= {"listen"}
    assert at(listen, "led_status", 50) == "listen"
    heard = listen.summary()["bus"]["frames_by_type"]["heard_by_multi"]
    assert "bms_status" not in heard and "bms_probe_answer" not in heard


def test_cold_empty_battery_is_not_a_latched_loop_fault():
    # Low cell (loads off 30 s after the pre-alarm) and low temperature (3.3: charging stopped)
    # at once. With both temperature lines wired the loop is seen intact: no latched fault.
    sim = run("cold_empty_battery")
    t_c = first(sim, "charge_disconnect", "floating", after=20)
    assert t_c is not None and t_c <= 20.5
    t_l = first(sim, "load_disconnect", "floating", after=20)
    assert t_l is not None and t_l - 20 >= 30
    t = texts(sim)
    assert not any("latched" in x for x in t)
    assert "charge disconnect: low temperature" in t
    assert any(x.startswith("load disconnect: low cell") for x in t)
    # the default wiring cannot tell it from an unplugged cable: latched, and the log says both
    doc = json.loads((ROOT / "scenarios" / "cold_empty_battery.json").read_text())
    doc["settings"] = {"vebus_mode": "bms"}
    del doc["system"]["btv_lines"]
    doc["duration_s"] = 30
    other = Sim(scenario.parse(doc, fwhost.check_settings))
    other.run()
    assert "BTV loop fault latched: open loop, or low cell with charging blocked" in "".join(
        texts(other)
    )


def test_remote_off_and_on():
    sim = run("remote_off_on")
    t = 21.0
    for sig in ("load_disconnect", "charge_disconnect", "pre_alarm"):
        assert at(sim, sig, t) == "floating", sig
    assert at(sim, "bms_power", t) == "low"
    assert first(sim, "multi_mode", "low_power", after=20) is not None
    assert at(sim, "led_status", 60) == "off"  # dark in low-power mode
    t_on = first(sim, "load_disconnect", "high", after=70)
    assert t_on is not None and t_on < 75
    assert final(sim, "multi_mode") == "on" and final(sim, "bms_power") == "normal"


def test_remote_on_off_wired_as_a_bridge():
    # Remote on/off: ON when L and H are joined by a bridge (manual; docs/hardware.md), with
    # remote_mode = "bridge" accepting only that wiring; switch open: outputs floating, the
    # Multi in low power.
    sim = run("remote_bridge")
    t_on = first(sim, "load_disconnect", "high")
    assert t_on is not None and t_on < 3
    assert at(sim, "multi_mode", 15) == "on"
    assert at(sim, "load_disconnect", 21) == "floating" and at(sim, "bms_power", 21) == "low"
    assert first(sim, "multi_mode", "low_power", after=20) is not None
    t_back = first(sim, "load_disconnect", "high", after=60)
    assert t_back is not None and t_back < 62
    assert final(sim, "multi_mode") == "on"
    doc = json.loads((ROOT / "scenarios" / "remote_bridge.json").read_text())
    doc["system"]["remote_wiring"] = "l_low"  # L pulled to minus: not a bridge, stays off
    doc["duration_s"] = 15
    doc["inputs"] = []
    other = Sim(scenario.parse(doc, fwhost.check_settings))
    other.run()
    assert changes(other, "load_disconnect") == [(0.0, "floating")]
    assert final(other, "bms_power") == "low"


def test_multi_switched_off_by_its_front_panel_switch():
    # Manual 1, LED indicators: "either due to a low cell/remote off or just switched off by
    # means of the front panel switch, the BMS goes into low power mode but continues to send
    # BMS info frames" (with the status LED dark).
    path = ROOT / "scenarios" / "multi_switched_off.json"
    sim = Sim(scenario.load(str(path), settings_check=fwhost.check_settings))
    heard = []
    sim.at(79.0, lambda: heard.append(sim.multis[0].bms_heard_at))
    sim.run()
    t_low = first(sim, "bms_power", "low", after=20)
    assert t_low is not None and t_low <= 22
    assert at(sim, "multi_mode", 25) == "off" and at(sim, "led_status", 40) == "off"
    assert heard[0] is not None and heard[0] >= 79 - 10.5  # info frames went on
    assert changes(sim, "load_disconnect", after=3) == []  # the outputs follow the loop
    t = texts(sim)
    assert any(
        x.startswith("Multi switched off (front panel switch): BMS in low power") for x in t
    )
    t_back = first(sim, "bms_power", "normal", after=80)
    assert t_back is not None and t_back <= 82
    assert final(sim, "multi_mode") == "on" and at(sim, "led_status", 100) == "heartbeat"


def test_mains_detector_restarts_the_multi():
    sim = run("mains_detector")
    t_ld = first(sim, "load_disconnect", "floating", after=10)
    assert t_ld is not None and t_ld >= 40
    assert at(sim, "multi_mode", 79) == "off"  # low cell without AC: the Multi is off
    assert at(sim, "multi_charge", 79) == "zero"
    t_r = first(sim, "multi_mode", "charger_only", after=80)
    assert t_r is not None and t_r < 81  # the mains detector restarts it in charger-only
    assert at(sim, "multi_charge", t_r + 0.1) in ("full", "reduced")
    assert at(sim, "battery_a", 90) > 0  # recharging
    assert any("mains" in x.lower() for x in texts(sim))


def test_without_mains_detector_an_old_multi_stays_off():
    doc = json.loads((ROOT / "scenarios" / "mains_detector.json").read_text())
    doc["system"]["mains_detector"] = False
    doc["duration_s"] = 100
    doc["inputs"] = [r for r in doc["inputs"] if r["t"] < 100]
    sim = Sim(scenario.parse(doc, fwhost.check_settings))
    sim.run()
    assert {v for _t, v in changes(sim, "multi_mode", after=41)} <= {"off"}
    assert final(sim, "multi_charge") == "zero"


def test_no_mains_detector_fitted_a_low_cell_shutdown_reaches_low_power():
    # Low cell: "Multi set to charger-only (charges if AC present, else off)"; supply current
    # "2 mA after a low-cell shutdown" (../shared/btv.md, Outputs). No detector fitted: the
    # board's pull-up reads no AC with the default settings, and AC at the Multi cannot be seen.
    sim = run("mains_not_fitted")
    t_ld = first(sim, "load_disconnect", "floating", after=10)
    assert t_ld is not None and t_ld >= 40
    assert {v for _t, v in changes(sim, "multi_mode", after=t_ld + 1)} <= {"off"}
    assert first(sim, "bms_power", "low", after=t_ld) is not None
    assert final(sim, "bms_power") == "low" and final(sim, "multi_charge") == "zero"
    assert not any("mains detector" in x for x in texts(sim))


def test_mains_detector_polarity_set_wrong_shows_as_the_user_sees_it():
    # The hardware (a detector as in docs/hardware.md) and the setting disagree: the pulled-up
    # input reads as "AC present" without AC. After the low-cell shutdown the BMS keeps the Multi
    # in charger-only with no AC to charge from ("else off" is never reached): no low power.
    sim = run("mains_polarity_wrong")
    t_ld = first(sim, "load_disconnect", "floating", after=10)
    assert t_ld is not None
    assert at(sim, "multi_mode", 79) == "charger_only" and at(sim, "bms_power", 79) == "normal"
    assert at(sim, "multi_charge", 79) == "zero"  # no AC: nothing to charge from
    assert "low" not in [v for _t, v in changes(sim, "bms_power", after=t_ld)]
    said = [e["t"] for e in sim.events if e["text"].startswith("Multi: charger-only (low cell)")]
    assert said and said[0] < 80  # with no AC in


def _short(system, settings, duration=8):
    doc = {"name": "wiring", "duration_s": duration, "system": system, "settings": settings}
    sim = Sim(scenario.parse(doc, fwhost.check_settings))
    sim.run()
    return sim


def test_remote_wiring_and_output_levels_come_from_the_hardware_not_the_settings():
    # Remote on/off (the manual): ON when L is pulled to minus; a BMS set to accept only "H high"
    # stays off with that wiring, as it would on a real board.
    assert final(_short({"remote_wiring": "l_low"}, {}), "load_disconnect") == "high"
    off = _short({"remote_wiring": "l_low"}, {"remote_mode": "h_high"})
    assert final(off, "load_disconnect") == "floating" and final(off, "bms_power") == "low"
    # The output stage switches on at the board profile's level: a setting that inverts it
    # leaves the load disconnect floating on the documented board.
    inv = _short({}, {"load_out_high_level": 0})
    assert final(inv, "load_disconnect") == "floating"
    assert final(inv, "charge_disconnect") == "high"


def test_multi_firmware_400_is_error_15():
    sim = run("multi_firmware_400")
    assert final(sim, "multi_error") == 15
    assert final(sim, "multi_mode") == "off"
    assert any("15" in x for x in texts(sim))


def test_multi_firmware_450_without_the_assistant_is_error_7():
    # The manual: VE.Bus firmware 415..488 needs the "VE.Bus BMS" or ESS assistant; without it
    # the Multi shows VE.Bus error 7. The BMS cannot read whether it is installed: it says so in
    # its log, and its outputs keep following the BTV loop.
    sim = run("multi_assistant_missing")
    assert final(sim, "multi_error") == 7 and final(sim, "multi_mode") == "off"
    assert final(sim, "load_disconnect") == "high" and final(sim, "charge_disconnect") == "high"
    assert any("needs the VE.Bus BMS or ESS assistant" in x for x in texts(sim))


def test_multi_gone_and_back():
    sim = run("multi_gone")
    assert at(sim, "multi_mode", 35) == "off" and at(sim, "bus", 35) == "no_multi"
    assert any("absent" in x for x in texts(sim))
    assert changes(sim, "load_disconnect", after=3) == []  # the outputs protect regardless
    assert final(sim, "multi_mode") == "on" and final(sim, "bus") == "ok"


def test_bms_silent_puts_the_multi_in_emergency_mode():
    sim = run("bms_silent")
    t_e = first(sim, "multi_mode", "emergency", after=30)
    assert t_e is not None and t_e <= 45
    assert at(sim, "multi_charge", t_e + 0.5) == "reduced"  # at most 5 A
    assert at(sim, "bus", t_e + 0.5) == "no_bms"
    assert final(sim, "multi_mode") == "on"


def test_gx_on_request_is_overruled_by_low_cell():
    sim = run("gx_on_overruled")
    assert first(sim, "multi_mode", "charger_only", after=10) is not None
    assert {v for _t, v in changes(sim, "multi_mode", after=60)} <= {"charger_only"}
    assert final(sim, "load_disconnect") == "floating"


def test_a_gx_off_holds_until_the_gx_falls_silent():
    # The manual: the GX switches the Multi on, off and charger-only; its request holds until
    # the GX changes it or stops repeating it (three repeat periods, inferred).
    sim = run("gx_off_holds")
    t_off = first(sim, "multi_mode", "off", after=20)
    assert t_off is not None and t_off <= 22
    assert {v for _t, v in changes(sim, "multi_mode", after=t_off)} == {"off", "on"}
    t_on = first(sim, "multi_mode", "on", after=t_off)
    assert t_on is not None and 120 <= t_on <= 125  # last repeat ~90 s, + 30 s
    assert any("not repeated for 30 s" in x for x in texts(sim))


def test_dmc_present_gx_is_ignored():
    sim = run("dmc_present")
    assert {v for _t, v in changes(sim, "multi_mode", after=20)} <= {"on"}
    assert final(sim, "multi_mode") == "on"


def test_three_phase_one_master():
    sim = run("three_phase")
    sent = sim.summary()["bus"]["frames_by_type"]["sent_by_multi"]
    assert abs(sent["sync"] - 90 / 0.02) <= 2  # one sync source, every 20 ms
    assert abs(sent["ac_info"] - 3 * sent["sync"]) <= 3  # each Multi's own 0xE4
    modes = {m.mode(sim.loop.time()) for m in sim.multis}
    assert modes == {"charger_only"}  # low cell reached all three


def test_bus_noise_protection_unaffected_rejects_counted():
    noisy = run("bus_noise")
    clean = run("prealarm_low_cell")
    rej = noisy.summary()["bus"]["firmware_rejects_by_reason"]
    assert sum(rej.values()) > 0 and noisy.summary()["bus"]["bytes_corrupted"] > 0
    for sig in ("load_disconnect", "charge_disconnect", "pre_alarm"):
        a = noisy.timeline.series(sig)
        b = clean.timeline.series(sig)
        assert [v for _t, v in a] == [v for _t, v in b], sig
        assert all(abs(x[0] - y[0]) < 0.1 for x, y in zip(a, b)), sig
    # A sync lost to noise does not throw the bus task's wake-up timing off (BmsRole.poll_ms)
    assert noisy.fw.app.role.slots_missed == 0


def test_both_schedulers_give_the_same_run():
    # Timers due at the same instant may run in another order on asyncio's heap: a bus frame
    # can then miss its slot and the next status frame comes one status interval (1 s) later;
    # the leds and protect tasks (both every 50 ms) may meet at a heartbeat flash's instant, so
    # that flash is shown or not as low power starts there, and the status LED reads "off"
    # (HEARTBEAT_LOST_S after its last flash) one heartbeat period apart.
    # The outputs and the cell LEDs (the firmware's own pins, set by the protect step) are
    # identical to the millisecond.
    a = run("prealarm_low_cell")
    b = run("prealarm_low_cell", scheduler="asyncio")
    pins = ("load_disconnect", "charge_disconnect", "pre_alarm", "led_cell_ok", "led_high_cell")
    for sig in NORMATIVE:
        sa, sb = a.timeline.series(sig), b.timeline.series(sig)
        assert [v for _t, v in sa] == [v for _t, v in sb], sig
        tol = 0.001 if sig in pins else 10.05 if sig == "led_status" else 1.05
        assert all(abs(x[0] - y[0]) <= tol for x, y in zip(sa, sb)), sig
    assert [e["text"] for e in a.events] == [e["text"] for e in b.events]


@pytest.mark.parametrize("name", ["remote_off_on"])
def test_outputs_written(tmp_path, name):
    sim = run(name)
    sim.write(str(tmp_path))
    for f in ("timeline.jsonl", "events.jsonl", "summary.json", "timeline.png"):
        assert (tmp_path / f).stat().st_size > 0, f


def test_selftest_catches_a_stuck_input():
    sim = run("stuck_input")
    assert first(sim, "load_disconnect", "high") is not None
    assert changes(sim, "charge_disconnect", after=3)[0][0] >= 20  # no false fault before
    t_f = next(e["t"] for e in sim.events if "stuck input" in e["text"])
    assert 20 <= t_f <= 23  # a pulse or two after the input got stuck
    assert at(sim, "charge_disconnect", t_f + 0.1) == "floating"
    t_l = first(sim, "load_disconnect", "floating", after=20)
    assert t_l is not None and t_l - t_f >= 30


def test_power_cycle_keeps_flash_loses_ram():
    scn = scenario.load(str(ROOT / "scenarios" / "btv_unplugged.json"), fwhost.check_settings)
    scn.duration_s = 60
    sim = Sim(scn)
    sim.at(40.0, sim.power_cycle)  # the loop fault latched at ~20 s
    sim.run()
    assert sim.fw.boots == 2 and sim.fw.resets[0][1] == "power cycle"
    assert at(sim, "charge_disconnect", 40.01) == "floating"
    boots = {e["boot"] for e in sim.events}
    assert len(boots) == 2  # both boots' events read back from the kept flash file
    second = [e["text"] for e in sim.events if e["boot"] == max(boots)]
    assert "latched" in second[0]  # the latched fault came back from flash
    assert final(sim, "load_disconnect") == "floating"  # the loop is still open


def test_low_power_sleeps_between_duties_while_the_multi_is_on_the_bus():
    # ../shared/btv.md "Outputs": supply current 2 mA after a low-cell shutdown (the BMS in low
    # power); the Multi, still on the bus without AC, is held off and keeps hearing its BMS.
    import machine  # tests/fakes/machine.py: counts the light sleeps and their length

    scn = scenario.load(str(ROOT / "scenarios" / "low_power_multi_on_bus.json"))
    sim = Sim(scn, fidelity="full")
    marks = []

    def mark():
        marks.append((sim.loop.time(), machine.lightsleep_calls, machine.lightsleep_ms))

    sim.at(100.0, mark)
    sim.at(300.0, mark)
    sim.run()
    (t0, calls0, ms0), (t1, calls1, ms1) = marks
    assert at(sim, "bms_power", 100) == "low" and final(sim, "bms_power") == "low"
    assert calls1 - calls0 > 5000  # it sleeps, and often
    asleep = (ms1 - ms0) / 1000 / (t1 - t0)
    assert asleep > 0.8, asleep  # most of the time
    assert {v for _t, v in changes(sim, "multi_mode", after=50)} <= {"off"}  # held off, no
    assert changes(sim, "bus", after=50) == []  # emergency mode: the Multi hears its BMS
    role = sim.fw.app.role
    assert role.slots_missed == 0 and role.multi_present


def _wakeups_per_s(tmp_path, remote):
    path = tmp_path / ("remote_%s.json" % remote)
    path.write_text(
        json.dumps(
            {
                "name": "remote %s, Multi present" % remote,
                "duration_s": 60,
                "settings": {"vebus_mode": "bms"},
                "inputs": [{"t": 0, "remote": remote}],
            }
        )
    )
    sim = Sim(scenario.load(str(path), settings_check=fwhost.check_settings))
    sim.run()
    return sim.loop.wakeups / 60


def test_low_power_mode_wakes_the_firmware_less_often_than_normal_running(tmp_path):
    # Remote off with the Multi still syncing: light sleeps between the bus duties, and the idle
    # task must not spin at its 1 ms post-sleep period when it cannot sleep.
    off = _wakeups_per_s(tmp_path, "off")
    on = _wakeups_per_s(tmp_path, "on")
    assert off < on, (off, on)


def test_full_bus_the_bms_keeps_every_slot_it_needs_while_waking_around_the_syncs(tmp_path):
    # The bus task sleeps between syncs (BmsRole.poll_ms) instead of polling every 2 ms: the
    # status still goes out every second in the slot and the Multi never misses its BMS.
    path = tmp_path / "full.json"
    path.write_text(
        json.dumps(
            {
                "name": "normal running, full bus",
                "duration_s": 60,
                "settings": {"vebus_mode": "bms"},
            }
        )
    )
    sim = Sim(scenario.load(str(path), settings_check=fwhost.check_settings), fidelity="full")
    sim.run()
    role = sim.fw.app.role
    assert role.syncs >= 2990 and role.slots_missed == 0, (role.syncs, role.slots_missed)
    from firmware.core.codes import TX_STATUS

    assert role.sent[TX_STATUS] >= 55, role.sent[TX_STATUS]
    assert changes(sim, "bus") == [(0.0, "ok")] and final(sim, "multi_mode") == "on"
    assert sim.loop.wakeups / 60 < 400  # 2 ms polling alone was 500 a second
