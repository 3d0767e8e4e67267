"""The help text of every setting: the `meaning` column of docs/settings.md (tools/settings_doc.py)
and settings.describe(key). Host side only: the board never imports this module, so these
strings take no RAM there (a .mpy in ROMFS stays in flash). Types, defaults and ranges are in
settings.SPEC; a test keeps the two tables' keys equal.
"""

HELP = {
    # board and bus side (lib/vebus)
    "board": (
        "board profile: pico (BTV inputs 0..5) or esp32 (0..3); a board refuses any but its own"
    ),
    "vebus_mode": (
        "listen: never transmit; bms: answer probes and send status frames (INFERRED layout)"
    ),
    "panel_port": (
        "the Remote panel port is fitted: in bms mode frames cross between the two VE.Bus ports,"
        " so a GX, Smart dongle or DMC there sees the Multi and the BMS (INFERRED); false: the"
        " Multi port only"
    ),
    "bms_version": "version told to the GX (1146 + firmware)",
    "status_interval_ms": "status frame interval (INFERRED)",
    "status_interval_low_power_ms": "BMS status frame interval in low-power mode",
    # protection timing
    "startup_ok_ms": (
        "start-up / latched loop fault: the loop must read OK this long before outputs come on"
    ),
    "prealarm_to_disconnect_s": (
        "least time between pre-alarm high and load disconnect (the manual's 30 s is the minimum)"
    ),
    "min_hold_s": "an output that switched off stays off at least this long",
    "reduced_charge_rate_pct": (
        "charge rate asked of the Multi for a high cell the wiring tells apart (manual 7, Q4); "
        "low temperature, high temperature or an untold charge block stop charging (0 %)"
    ),
    # BTV loop inputs (the electrical mapping in firmware/core/btv_wire.py)
    "debounce_ms": "an input level counts once stable this long",
    "stale_ms": "no fresh sample of an input this long = not allowed",
    "btv_discharge_input": "input of the discharge-allowed line",
    "btv_charge_input": "input number of the charge-allowed line (high cell or temperature)",
    "btv_prealarm_input": "input number of the pre-alarm line, -1 = none",
    "btv_loop_input": (
        "input number of a loop-continuity line, -1 = open loop when every wired line says no"
    ),
    "btv_low_temp_input": "input number of a low-temperature line, -1 = none",
    "btv_high_temp_input": "input of a high-temp line, -1 = none",
    "btv_high_cell_input": (
        "input number of a high-cell line, -1 = none (then a charge block is a high cell only "
        "when both temperature lines are wired and say OK)"
    ),
    "btv_ok_low_mask": "bit n set: input n reads 0 when OK",
    "btv_selftest": (
        "pulse the loop through the test output; an input that does not follow is a loop fault"
    ),
    "btv_selftest_period_ms": "time between self-test pulses",
    "btv_selftest_settle_ms": "inputs are checked this long into a pulse",
    "btv_selftest_recover_ms": "samples right after a pulse are not used",
    # remote on/off, mains detector
    "dmc_present": (
        "a Digital Multi Control is on the Remote panel port: only its switch requests count, a "
        "GX's are ignored (the manual)"
    ),
    "remote_mode": (
        "remote on/off wiring: any of the three, or only L-H bridge / L pulled low / H pulled high"
    ),
    "remote_l_on_level": "level the L input reads when L is pulled low (on)",
    "remote_h_on_level": "level the H input reads when H is pulled high (on)",
    "mains_detector": "use the mains detector input",
    "mains_on_level": (
        "level the mains detector input reads with AC present (0: the hardware guide's board,"
        " whose optocoupler pulls the pulled-up input low; no detector fitted then reads no AC)"
    ),
    # output stages: the pin level that makes each output "high" (the stage may invert)
    "load_out_high_level": "pin level for load disconnect high (loads on)",
    "charge_out_high_level": "pin level for charge disconnect high",
    "prealarm_out_high_level": "pin level for pre-alarm high",
    # event log on flash
    "event_log_max_bytes": "event log file size before it rotates to <path>.1",
}
