"""Control from the Remote panel port, decided in the manual's order (firmware/core/control.py).

Manual 3.5 / 3.6 and vebus.md "Two VE.Bus ports": protection first, then remote off, then the
Digital Multi Control (with a DMC present only the DMC switches the Multi: GX and Smart dongle
control is disabled), then the GX device or the dongle. Modes are the 0x3F switch values.
"""

from firmware.core.codes import MODE_CHARGER_ONLY, MODE_INVERTER_ONLY, MODE_NONE, MODE_OFF, MODE_ON
from firmware.core.control import (
    SRC_DMC,
    SRC_GX,
    WHY_DMC,
    WHY_PASSED,
    WHY_PROTECTION,
    WHY_REMOTE_OFF,
    panel_control,
)

MODES = (MODE_OFF, MODE_CHARGER_ONLY, MODE_INVERTER_ONLY, MODE_ON)
CHARGES = (MODE_CHARGER_ONLY, MODE_ON)
INVERTS = (MODE_INVERTER_ONLY, MODE_ON)


def _split(r):
    return r & 0xFF, r >> 8


def test_a_gx_on_during_a_low_cell_shutdown_never_reaches_the_multi_as_on():
    # Low cell: loads off, the Multi charger-only (vebus.md, seed manual) -> the ceiling.
    mode, why = _split(panel_control(SRC_GX, MODE_ON, False, False, MODE_CHARGER_ONLY))
    assert (mode, why) == (MODE_CHARGER_ONLY, WHY_PROTECTION)
    mode, why = _split(panel_control(SRC_GX, MODE_INVERTER_ONLY, False, False, MODE_OFF))
    assert (mode, why) == (MODE_OFF, WHY_PROTECTION)


def test_with_a_dmc_present_gx_and_dongle_control_is_dropped():
    for req in MODES + (MODE_NONE,):
        assert _split(panel_control(SRC_GX, req, True, False, MODE_ON)) == (0, WHY_DMC)
        mode, why = _split(panel_control(SRC_DMC, req, True, False, MODE_ON))
        assert why == WHY_PASSED and mode == (req or MODE_ON)


def test_with_remote_off_nothing_from_the_panel_switches_the_multi_on():
    for src in (SRC_GX, SRC_DMC):
        for ceiling in MODES:
            for req in MODES + (MODE_NONE,):
                mode, why = _split(panel_control(src, req, src == SRC_DMC, True, ceiling))
                if req == MODE_OFF:
                    assert (mode, why) == (MODE_OFF, WHY_PASSED)
                else:
                    assert (mode, why) == (0, WHY_REMOTE_OFF), (src, req, ceiling)


def test_the_passed_mode_never_exceeds_what_protection_allows():
    cases = [0, 0, 0]  # passed, rewritten, blocked: each branch must run
    for src in (SRC_GX, SRC_DMC):
        for dmc in (False, True):
            for ceiling in MODES:
                for req in MODES + (MODE_NONE,):
                    mode, why = _split(panel_control(src, req, dmc, False, ceiling))
                    if mode == 0:
                        cases[2] += 1
                        continue
                    cases[0 if why == WHY_PASSED else 1] += 1
                    assert not (mode in CHARGES and ceiling not in CHARGES)
                    assert not (mode in INVERTS and ceiling not in INVERTS)
                    if why == WHY_PASSED and req != MODE_NONE:
                        assert mode == req
    assert min(cases) > 0, cases


def test_a_winmon_write_passes_only_while_nothing_restricts_the_multi():
    assert _split(panel_control(SRC_GX, MODE_NONE, False, False, MODE_ON)) == (MODE_ON, 0)
    for ceiling in (MODE_OFF, MODE_CHARGER_ONLY, MODE_INVERTER_ONLY):
        assert _split(panel_control(SRC_GX, MODE_NONE, False, False, ceiling)) == (
            0,
            WHY_PROTECTION,
        )
