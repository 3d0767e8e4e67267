"""firmware/core/protection.py: one test per rule of the manual (issue 4). Runs on both VMs."""

import time

from core_rig import Rig

from firmware.core.codes import (
    CH_CHARGE,
    CH_LATCH,
    CH_LOAD,
    FLOAT,
    HIGH,
    MODE_CHARGER_ONLY,
    MODE_INVERTER_ONLY,
    MODE_NONE,
    MODE_OFF,
    MODE_ON,
    PAT_HEARTBEAT,
    PAT_LISTEN,
    PAT_OFF,
    PAT_ON,
    ST_CHARGE_OFF,
    ST_LOOP_FAULT,
    ST_LOW_CELL_OFF,
    ST_PREALARM,
    ST_REMOTE_OFF,
    ST_RUN,
    ST_STARTUP,
)


def _all_floating(o):
    return o.load == FLOAT and o.charge == FLOAT and o.prealarm == FLOAT


def test_startup_safe_until_loop_ok_for_startup_ok_ms():
    r = Rig()
    r.run(1990)
    o = r.o
    assert _all_floating(o) and o.multi_mode == MODE_OFF and o.state == ST_STARTUP
    assert not o.allow_charge and not o.allow_discharge and o.charge_rate == 0
    r.run(10)  # 2000 ms of OK
    assert o.load == HIGH and o.charge == HIGH and o.prealarm == FLOAT
    assert o.multi_mode == MODE_ON and o.state == ST_RUN and o.allow_discharge and o.allow_charge
    assert r.has("start-up: BTV loop OK for 2000 ms, outputs allowed")


def test_startup_timer_restarts_when_the_loop_drops():
    r = Rig(startup_ok_ms=3000)
    r.run(2500)
    r.open_loop()
    r.run(100)
    r.ok()
    r.run(2990)
    assert _all_floating(r.o) and r.o.state == ST_STARTUP
    r.run(20)
    assert r.o.load == HIGH


def test_startup_stays_safe_while_the_loop_never_reads_ok():
    r = Rig()
    r.open_loop()
    r.run(60000, dt=50)
    assert _all_floating(r.o) and r.o.multi_mode == MODE_OFF


def test_battery_prealarm_drives_prealarm_output_high_and_loads_stay_on():
    r = Rig()
    r.started()
    r.prealarm()
    o = r.run(60000, dt=100)
    assert o.prealarm == HIGH and o.load == HIGH and o.charge == HIGH and o.state == ST_PREALARM
    assert o.bat_prealarm and r.has("pre-alarm: battery pre-alarm")
    r.ok()
    r.run(10)
    assert o.prealarm == FLOAT and o.load == HIGH


def test_low_cell_prealarm_then_load_disconnect_after_30_s():
    r = Rig()
    r.started()
    r.i.ac_in = True
    r.low_cell()
    r.step()
    assert r.o.prealarm == HIGH and r.o.load == HIGH and r.o.multi_mode == MODE_ON
    took = r.until(lambda o: o.load == FLOAT, 40000)
    assert took == 30000, took
    o = r.o
    assert o.prealarm == FLOAT  # the pre-alarm floats again at that moment
    assert not o.allow_discharge and o.multi_mode == MODE_CHARGER_ONLY
    assert o.charge == HIGH and o.state == ST_LOW_CELL_OFF and o.led_cell == PAT_OFF
    assert r.has("load disconnect: low cell, 30 s after pre-alarm")
    assert r.has("pre-alarm off: loads switched off")
    assert r.has("Multi: charger-only (low cell)")


def test_low_cell_without_ac_turns_the_multi_off_and_the_bms_low_power():
    r = Rig()
    r.started()
    r.low_cell()
    r.run(30000)
    assert r.o.load == FLOAT and r.o.multi_mode == MODE_OFF and r.o.low_power
    assert r.o.led_status == PAT_OFF
    assert r.has("Multi: off (low cell, no AC)")


def test_low_cell_after_a_battery_prealarm_counts_from_the_prealarm_output():
    r = Rig()
    r.started()
    r.prealarm()
    r.run(20000)
    r.low_cell(pa=True)
    took = r.until(lambda o: o.load == FLOAT, 40000)
    assert took == 10000, took  # 30 s after the pre-alarm output went high, not after low cell


def test_low_cell_clearing_before_the_delay_switches_nothing_off():
    r = Rig()
    r.started()
    r.low_cell()
    r.run(29000)
    r.ok()
    r.run(60000, dt=100)
    o = r.o
    assert o.load == HIGH and o.charge == HIGH and o.prealarm == FLOAT and o.multi_mode == MODE_ON
    assert not r.has("load disconnect")


def test_longer_prealarm_delay_setting_is_obeyed():
    r = Rig(prealarm_to_disconnect_s=45)
    r.started()
    r.low_cell()
    assert r.until(lambda o: o.load == FLOAT, 60000) == 45000


def test_high_cell_charge_disconnect_at_once_reduced_rate_red_led():
    r = Rig(reduced_charge_rate_pct=15)
    r.started()
    r.high_cell()
    r.step()
    o = r.o
    assert o.charge == FLOAT and not o.allow_charge and o.charge_rate == 15
    assert o.led_high == PAT_ON and o.load == HIGH and o.multi_mode == MODE_ON
    assert o.state == ST_CHARGE_OFF and r.has("charge disconnect: high cell")


def test_low_and_high_temperature_stop_charging_at_once():
    # Manual 3.3: "In the event of high cell voltage or low temperature, battery charging must be
    # stopped": the chargers off and the Multi's charge rate 0, not a reduced current. The
    # same where the charge line cannot tell a high cell from a low temperature.
    setters = (
        ("low_temp", "low temperature"),
        ("high_temp", "high temperature"),
        ("charge_block", "high cell or low temperature"),
    )
    for setter, words in setters:
        r = Rig()
        r.started()
        getattr(r, setter)()
        r.step()
        assert r.o.charge == FLOAT and r.o.led_high == PAT_ON and r.o.load == HIGH
        assert r.o.charge_rate == 0 and not r.o.allow_charge, setter
        assert r.o.multi_mode == MODE_ON  # AC still passes through, the Multi only stops charging
        assert r.has("charge disconnect: " + words)
        r.high_cell()  # a told-apart high cell only: the reduced current of manual 7, Q4
        assert r.o.charge_rate == 10 and r.o.charge == FLOAT


def test_open_loop_chargers_off_at_once_loads_after_delay_latched():
    r = Rig()
    r.started()
    r.open_loop()
    o = r.o
    assert o.charge == FLOAT and o.charge_rate == 0 and o.multi_mode == MODE_INVERTER_ONLY
    assert o.prealarm == HIGH and o.load == HIGH and o.latched and o.changed & CH_LATCH
    assert o.state == ST_LOOP_FAULT and o.led_high == PAT_OFF
    took = r.until(lambda o: o.load == FLOAT, 40000)
    assert took == 30000, took
    assert o.multi_mode == MODE_OFF and o.prealarm == FLOAT
    assert r.has("BTV loop fault latched: open loop")
    assert r.has("load disconnect: open loop, 30 s after pre-alarm")
    # the loop reads OK again: still latched until OK for startup_ok_ms
    r.ok()
    r.run(1990)
    assert o.latched and o.load == FLOAT and o.charge == FLOAT
    r.run(10)
    assert not o.latched and r.has("BTV loop fault cleared: loop OK for 2000 ms")
    # chargers were off for more than min_hold_s: back at once; loads only 10 s after their end
    assert o.charge == HIGH and o.load == FLOAT and o.multi_mode == MODE_OFF  # (no AC)
    assert r.until(lambda o: o.load == HIGH, 20000) == 8000
    assert o.multi_mode == MODE_ON


def test_loop_fault_latch_clears_only_after_a_full_ok_period():
    r = Rig()
    r.started()
    r.stuck()
    r.run(100)
    for _ in range(5):  # the loop flickers OK for less than startup_ok_ms
        r.ok()
        r.run(1500)
        r.stuck()
        r.run(50)
    assert r.o.latched and r.o.charge == FLOAT
    assert r.has("BTV loop fault latched: stuck input")


def test_latched_fault_from_before_a_reboot_keeps_outputs_safe():
    r = Rig(latched=True, latch_reason=0x20)
    r.step()
    assert r.o.latched and _all_floating(r.o)
    assert r.has("start-up: outputs safe, BTV loop fault latched before reboot (open loop)")
    r.run(1990)
    assert r.o.latched and _all_floating(r.o)
    r.run(20)
    assert not r.o.latched and r.o.changed == 0 or r.o.load == HIGH
    assert r.o.load == HIGH and r.has("BTV loop fault cleared")


def test_min_hold_keeps_a_chattering_output_off():
    r = Rig()
    r.started()
    ons = []
    offs = []
    for k in range(600):  # high cell chatters for 60 s: 100 ms alarm, 100 ms OK
        was = r.o.charge
        if k % 2 == 0:
            r.high_cell()
            assert r.o.charge == FLOAT  # switching off is never delayed
        else:
            r.ok()
        if r.o.charge != was:
            (ons if r.o.charge == HIGH else offs).append(r.t)
        r.t = time.ticks_add(r.t, 100)
    assert len(offs) == 6 and len(ons) == 5, (offs, ons)  # not 300 switchings: one per hold
    for off, on in zip(offs, ons):
        assert time.ticks_diff(on, off) >= 10000


def test_min_hold_applies_to_loads_after_low_cell():
    r = Rig(min_hold_s=60)
    r.started()
    r.low_cell()
    r.run(30000)
    assert r.o.load == FLOAT
    r.ok()
    took = r.until(lambda o: o.load == HIGH, 100000)
    assert took == 60000, took
    assert r.has("loads on: battery OK (off for 60 s)")


def test_off_for_stays_right_past_the_tick_wrap():
    # 20 days off: the ticks wrap (12.4 days on a board and on CPython) and ticks_diff's range
    # is 6.2 days, yet "off for N s" counts them all.
    r = Rig()
    r.started()
    r.low_cell()
    for _day in range(20):
        r.run(86_400_000, dt=60000)
    r.ok()
    r.until(lambda o: o.load == HIGH, 100000)
    said = [t for t in r.texts() if t.startswith("loads on:")]
    n = int(said[-1].split("off for ")[1].split(" s")[0])
    assert abs(n - 20 * 86400) <= 120, said  # loads went off a minute into the run


def test_remote_off_floats_every_output_at_once_and_holds_multi_low_power():
    r = Rig()
    r.started()
    r.i.dmc_present = True
    r.i.dmc_request = MODE_ON
    r.i.remote_on = False
    r.step()
    o = r.o
    assert _all_floating(o) and o.multi_mode == MODE_OFF and o.low_power
    assert o.state == ST_REMOTE_OFF and o.led_status == PAT_OFF and o.changed & CH_LOAD
    assert r.has("remote on/off: off (outputs floating, Multi in low power)")
    r.prealarm()  # even a pre-alarm stays floating
    r.run(5000)
    assert o.prealarm == FLOAT
    r.ok()
    r.i.remote_on = True
    r.run(4000)
    assert o.load == FLOAT  # min_hold after the remote switched it off
    r.run(6000)
    assert o.load == HIGH and o.charge == HIGH and o.multi_mode == MODE_ON and not o.low_power


def test_a_remote_not_yet_read_keeps_outputs_safe_but_is_not_logged_as_off():
    r = Rig()  # boot: the terminal's inputs are still debouncing
    r.i.remote_on = False
    r.i.remote_known = False
    r.run(40)
    o = r.o
    assert _all_floating(o) and o.multi_mode == MODE_OFF
    assert not o.low_power and o.state != ST_REMOTE_OFF
    assert not any("remote" in t or "low-power" in t for t in r.texts())
    r.i.remote_on = True
    r.i.remote_known = True
    r.run(2100)
    assert o.load == HIGH and o.charge == HIGH and o.multi_mode == MODE_ON
    assert not any("remote" in t for t in r.texts())
    r.i.remote_on = False  # a stale terminal after start-up: safe again, at once
    r.i.remote_known = False
    r.step()
    assert _all_floating(o) and o.multi_mode == MODE_OFF


def test_mains_detector_restarts_the_multi_in_charger_only_after_low_cell():
    r = Rig()
    r.started()
    r.low_cell()
    r.run(31000)
    assert r.o.multi_mode == MODE_OFF
    r.i.mains = True
    r.step()
    assert r.o.multi_mode == MODE_CHARGER_ONLY and r.o.allow_charge and not r.o.low_power
    assert r.has("mains detector: AC back, Multi restarted in charger-only")


def test_gx_request_is_obeyed_when_protection_allows():
    r = Rig()
    r.started()
    r.i.gx_request = MODE_CHARGER_ONLY
    r.step()
    assert r.o.multi_mode == MODE_CHARGER_ONLY
    r.i.gx_request = MODE_OFF
    r.step()
    assert r.o.multi_mode == MODE_OFF


def test_dmc_present_means_gx_is_ignored():
    r = Rig()
    r.started()
    r.i.dmc_present = True
    r.i.dmc_request = MODE_ON
    r.i.gx_request = MODE_OFF
    r.step()
    assert r.o.multi_mode == MODE_ON
    r.i.dmc_request = MODE_INVERTER_ONLY
    r.i.gx_request = MODE_ON
    r.step()
    assert r.o.multi_mode == MODE_INVERTER_ONLY


def test_gx_and_dmc_never_override_protection_or_remote_off():
    r = Rig()
    r.started()
    r.i.gx_request = MODE_ON
    r.low_cell()
    r.run(30000)
    assert r.o.multi_mode != MODE_ON and not r.o.allow_discharge
    r.i.dmc_present = True
    r.i.dmc_request = MODE_INVERTER_ONLY
    r.step()
    assert r.o.multi_mode == MODE_OFF  # inverting forbidden, charging not requested
    r.ok()
    r.run(20000)
    assert r.o.multi_mode == MODE_INVERTER_ONLY
    r.i.remote_on = False
    r.step()
    assert r.o.multi_mode == MODE_OFF


def test_vebus_error_15_below_415_holds_the_multi_off():
    r = Rig()
    r.started()
    r.i.multi_present = True
    r.i.multi_version = 414
    r.step()
    assert r.o.error == 15 and r.o.multi_mode == MODE_OFF
    assert r.has("VE.Bus error 15: Multi firmware 414 is below 415, system held off")
    r.i.multi_version = 415
    r.step()
    assert r.o.error == 0 and r.o.multi_mode == MODE_ON  # assistant state unknown: no error


def test_vebus_error_7_for_415_to_488_without_the_assistant():
    r = Rig()
    r.started()
    r.i.multi_present = True
    r.i.multi_assistant = 0
    for version, err in ((415, 7), (488, 7), (489, 0), (502, 0)):
        r.i.multi_version = version
        r.step()
        assert r.o.error == err, version
    r.i.multi_version = 430
    r.i.multi_assistant = 1
    r.step()
    assert r.o.error == 0
    r.i.multi_assistant = 0
    r.step()
    assert r.o.multi_mode == MODE_OFF and r.has("VE.Bus error 7: Multi firmware 430 needs")


def test_leds_follow_the_manual():
    r = Rig(vebus_mode="bms")
    r.step()
    assert r.o.led_cell == PAT_OFF and r.o.led_high == PAT_OFF
    r.started()
    o = r.o
    # manual 1, LED indicators: status "blinks once every 10 seconds" while the Multi is on and
    # info frames are sent: dark with no Multi on the bus to send them to
    assert o.led_status == PAT_OFF
    r.i.multi_present = True
    r.step()
    assert o.led_status == PAT_HEARTBEAT and o.led_cell == PAT_ON and o.led_high == PAT_OFF
    r.high_cell()
    r.step()
    assert o.led_high == PAT_ON and o.led_cell == PAT_ON
    r.ok()
    r.low_cell()
    # manual 1, LED indicators: cell > 2.8 V "Lights when the Load disconnect output is high and
    # the battery cell voltages are above 2.8 V": dark at the low-cell signal, loads still on
    assert o.led_cell == PAT_OFF and o.load == HIGH
    r.run(30000)
    assert o.led_cell == PAT_OFF and o.led_status == PAT_OFF  # Multi off: low power, dark


def test_listen_mode_status_led_has_its_own_pattern():
    # Nothing is sent in listen mode: not the manual's "info frames are sent" flash (1, LED
    # indicators), a double flash of its own (docs/manual-readings.md); dark in low-power mode.
    r = Rig()
    r.i.multi_present = True
    r.started()
    assert r.o.led_status == PAT_LISTEN
    r.i.remote_on = False
    r.step()
    assert r.o.low_power and r.o.led_status == PAT_OFF


def test_multi_switched_off_by_its_front_panel_low_power_until_it_reports_on():
    # Manual 1, LED indicators: "switched off by means of the front panel switch, the BMS goes
    # into low power mode but continues to send BMS info frames".
    r = Rig(vebus_mode="bms")
    r.i.multi_present = True
    r.started()
    r.i.multi_mode = MODE_OFF
    r.step()
    assert r.o.low_power and r.o.led_status == PAT_OFF and r.o.multi_mode == MODE_ON
    assert r.o.load == HIGH and r.o.charge == HIGH
    r.i.multi_present = False  # a silent Multi says nothing new: still switched off
    r.i.multi_mode = MODE_NONE
    r.run(2000)
    assert r.o.low_power
    r.i.multi_present = True
    r.i.multi_mode = MODE_ON
    r.step()
    assert not r.o.low_power and r.o.led_status == PAT_HEARTBEAT
    assert r.has("Multi switched off (front panel switch): BMS in low power mode, BMS info")
    assert r.has("Multi switched on again")


def test_status_changes_are_reported_in_changed():
    r = Rig()
    r.started()
    r.run(100)
    assert r.o.changed == 0
    r.high_cell()
    assert r.o.changed == CH_CHARGE
    r.step()
    assert r.o.changed == 0
