"""The electrical meaning of the BTV loop inputs: debounced levels -> battery condition.

THE REPLACEABLE LAYER. Victron does not publish the M8 pinout, the voltages or how pre-alarm is
encoded, so this module only knows what settings say: which input number carries which signal
(`btv_discharge_input`, `btv_charge_input`, `btv_prealarm_input`, `btv_loop_input`,
`btv_low_temp_input`, `btv_high_temp_input`, `btv_high_cell_input`; -1 = not wired) and each
input's polarity
(`btv_ok_low_mask`: bit n set = input n reads 0 when the battery says OK). A bench capture of the
real encoding changes this file (or the settings) and nothing else.

The rule it implements: a passive, intact loop reads OK on every line, and an unplugged cable
drops every line. Without a dedicated loop input, any wired line still saying OK proves the cable
is there; every line down is an open loop -- its consequences cover every alarm, and it latches.
A cold, empty battery (low cell and the charge line blocked, pre-alarm too) also drops every
line: only a loop input, or both temperature lines (no battery is cold and hot at once), tell the
two apart. Otherwise the reason carries R_LOOP_UNSURE beside R_OPEN_LOOP, so the log says
"open loop, or low cell with charging blocked" instead of claiming a cable fault.

The charge line says "not allowed" for a high cell, a low or a high temperature alike. Its cause
is told apart only where the wiring allows: a temperature line or a high-cell line that says so
names it; with both temperature lines wired and OK a blocked charge line can only be a high cell.
Otherwise the reason is R_CHARGE_BLOCK ("high cell or low temperature"), and protection stops
charging (manual 3.3) instead of reducing the charge current (docs/manual-readings.md).

    w = Wire(settings)
    w.decode(levels, cond)   # levels: int, bit n = debounced level of input n; fills cond
    w.used_mask              # inputs that must be sampled (stale / unknown checks)
    w.test_mask              # inputs that must follow the self-test pulse
"""

from micropython import const

# firmware/core/codes.py's numbers (tests/host/test_consts.py keeps the copies equal)
_R_CHARGE_BLOCK = const(0x4000)
_R_HIGH_CELL = const(0x0002)
_R_HIGH_TEMP = const(0x0008)
_R_LOOP_UNSURE = const(0x8000)
_R_LOW_CELL = const(0x0001)
_R_LOW_TEMP = const(0x0004)
_R_OPEN_LOOP = const(0x0020)
_R_PREALARM = const(0x0010)


def _bit(n):
    return (1 << n) if n >= 0 else 0


class Wire:
    def __init__(self, settings):
        s = settings
        self.dis = s.btv_discharge_input
        self.chg = s.btv_charge_input
        self.pa = s.btv_prealarm_input
        self.loop = s.btv_loop_input
        self.lt = s.btv_low_temp_input
        self.ht = s.btv_high_temp_input
        self.hc = s.btv_high_cell_input
        self.temps_wired = self.lt >= 0 and self.ht >= 0
        self.loop_told = self.loop >= 0 or self.temps_wired  # every line down: surely the cable
        self.ok_low = s.btv_ok_low_mask
        self.used_mask = (
            _bit(self.dis)
            | _bit(self.chg)
            | _bit(self.pa)
            | _bit(self.loop)
            | _bit(self.lt)
            | _bit(self.ht)
            | _bit(self.hc)
        )
        self.test_mask = _bit(self.dis) | _bit(self.chg) | _bit(self.loop)

    def ok_levels(self):
        """Raw levels of every used input when the battery says OK (for tests, simulators)."""
        return (~self.ok_low) & self.used_mask

    def decode(self, levels, cond):
        """Fill cond.loop_ok / discharge_ok / charge_ok / prealarm / reasons from the levels."""
        ok = levels ^ self.ok_low  # bit n = 1: input n says OK
        dis = (ok >> self.dis) & 1 == 1
        chg = (ok >> self.chg) & 1 == 1
        if self.loop >= 0:
            loop = (ok >> self.loop) & 1 == 1
        else:
            loop = ok & self.used_mask != 0  # a line still saying OK: the cable is there
        if not loop:
            cond.loop_ok = False
            cond.discharge_ok = False
            cond.charge_ok = False
            cond.prealarm = False
            cond.reasons = _R_OPEN_LOOP if self.loop_told else _R_OPEN_LOOP | _R_LOOP_UNSURE
            return
        reasons = 0
        if not dis:
            reasons |= _R_LOW_CELL
        if self.lt >= 0 and not (ok >> self.lt) & 1:
            reasons |= _R_LOW_TEMP
            chg = False
        if self.ht >= 0 and not (ok >> self.ht) & 1:
            reasons |= _R_HIGH_TEMP
            chg = False
        if self.hc >= 0 and not (ok >> self.hc) & 1:
            reasons |= _R_HIGH_CELL
            chg = False
        if not chg and not reasons & (_R_LOW_TEMP | _R_HIGH_TEMP | _R_HIGH_CELL):
            # the charge line alone: a high cell only if neither temperature can be the cause
            reasons |= _R_HIGH_CELL if self.temps_wired else _R_CHARGE_BLOCK
        pa = self.pa >= 0 and not (ok >> self.pa) & 1
        if pa:
            reasons |= _R_PREALARM
        cond.loop_ok = True
        cond.discharge_ok = dis
        cond.charge_ok = chg
        cond.prealarm = pa
        cond.reasons = reasons
