"""Battery bank model: Lithium Battery Smart 12.8 V units in series/parallel, LiFePO4 cells.

Each battery has four cells. A cell has a state of charge, an open-circuit voltage from a LiFePO4
curve, an ohmic resistance and one polarisation (RC) term, so the voltage sags under load, rises
under charge and relaxes when the current stops (which is what makes high-cell balancing cycle).
Above 100 % the curve climbs steeply (overcharge); the battery's passive balancer bleeds any cell
above `BALANCE_V`.

Each battery watches its own cells and temperature with the manual's thresholds and hysteresis (the
Lithium Battery Smart manual; docs/simulator.md, "Models") and raises its BTV signals; the loop is
the series chain of all batteries: one battery's alarm is the loop's alarm. `Bank.loop()` gives the
signals the BMS sees.
"""

import bisect
import math

CELLS = 4  # a 12.8 V Lithium Battery Smart
CAPACITY_AH = 200.0
R0_OHM = 0.0005  # per cell, 200 Ah
RPOL_OHM = 0.0010
TAU_S = 120.0
BALANCE_V = 3.55
BALANCE_A = 4.0

PREALARM_V = 3.1  # set below, clears at PREALARM_CLEAR_V
PREALARM_CLEAR_V = 3.2
LOW_CELL_V = 2.8  # set below, clears only when every cell >= LOW_CELL_CLEAR_V
LOW_CELL_CLEAR_V = 3.2
HIGH_CELL_V = 3.75  # set above, clears when every cell < HIGH_CELL_CLEAR_V
HIGH_CELL_CLEAR_V = 3.6
LOW_TEMP_C = 5.0  # charge blocked below, clears at LOW_TEMP_C + TEMP_HYST_C
HIGH_TEMP_C = 50.0  # charge blocked above, clears at HIGH_TEMP_C - TEMP_HYST_C
TEMP_HYST_C = 2.0

# LiFePO4 open-circuit voltage per cell over state of charge (0..1, then overcharge to 1.03).
_SOC = (0.0, 0.01, 0.03, 0.06, 0.10, 0.20, 0.40, 0.60, 0.80, 0.90, 0.97, 0.99, 1.0, 1.005, 1.02)
_OCV = (2.50, 2.75, 3.00, 3.10, 3.19, 3.24, 3.28, 3.30, 3.33, 3.34, 3.38, 3.45, 3.52, 3.68, 4.20)
SOC_MAX = _SOC[-1]

# Names of the loop conditions, in the order they win when several are true.
CONDITIONS = ("open", "low_cell", "high_cell", "low_temp", "high_temp", "prealarm", "ok")


def ocv(soc):
    """Open-circuit cell voltage at state of charge `soc` (clamped to the curve)."""
    if soc <= 0.0:
        return _OCV[0]
    if soc >= SOC_MAX:
        return _OCV[-1]
    i = bisect.bisect_right(_SOC, soc)
    s0, s1 = _SOC[i - 1], _SOC[i]
    v0, v1 = _OCV[i - 1], _OCV[i]
    return v0 + (v1 - v0) * (soc - s0) / (s1 - s0)


def soc_at(volts):
    """Inverse of `ocv`: the state of charge whose open-circuit voltage is `volts`."""
    if volts <= _OCV[0]:
        return 0.0
    if volts >= _OCV[-1]:
        return SOC_MAX
    i = bisect.bisect_right(_OCV, volts)
    v0, v1 = _OCV[i - 1], _OCV[i]
    s0, s1 = _SOC[i - 1], _SOC[i]
    return s0 + (s1 - s0) * (volts - v0) / (v1 - v0)


class Cell:
    __slots__ = ("soc", "cap_ah", "vpol", "v")

    def __init__(self, soc, cap_ah):
        self.soc = soc
        self.cap_ah = cap_ah
        self.vpol = 0.0
        self.v = ocv(soc)

    def step(self, dt, amps):
        """`amps` > 0 charges. Coulomb counting, RC relaxation, passive balancer."""
        if self.v > BALANCE_V:
            amps -= BALANCE_A
        self.soc = min(SOC_MAX, max(0.0, self.soc + amps * dt / 3600.0 / self.cap_ah))
        target = amps * RPOL_OHM
        self.vpol = target + (self.vpol - target) * math.exp(-dt / TAU_S)
        self.v = ocv(self.soc) + amps * R0_OHM + self.vpol
        if self.soc <= 0.0 and amps < 0:
            self.v = min(self.v, 2.0)

    def set_voltage(self, volts):
        """Put the cell at rest at `volts` (the scenario's `cell_v`)."""
        self.soc = soc_at(volts)
        self.vpol = 0.0
        self.v = volts


class Battery:
    """One 12.8 V battery: four cells, a temperature, its BTV signals with hysteresis."""

    def __init__(self, soc, index=0):
        # A little spread between cells, so one cell reaches the knees first, as in real packs.
        spread = (0.03, 0.0, -0.01, 0.005) if index % 2 == 0 else (0.0, 0.025, -0.01, 0.0)
        caps = (1.0, 0.97, 1.0, 1.01)
        self.cells = [
            Cell(min(SOC_MAX, max(0.0, soc + spread[i])), CAPACITY_AH * caps[i])
            for i in range(CELLS)
        ]
        self.temp_c = 25.0
        self.prealarm = False
        self.low_cell = False
        self.high_cell = False
        self.low_temp = False
        self.high_temp = False
        self.override = None  # a forced condition name (scenario "btv" with "battery"), or None
        self.evaluate()

    def step(self, dt, amps):
        for c in self.cells:
            c.step(dt, amps)
        self.evaluate()

    def evaluate(self):
        lo = min(c.v for c in self.cells)
        hi = max(c.v for c in self.cells)
        if lo < LOW_CELL_V:
            self.low_cell = True
        elif lo >= LOW_CELL_CLEAR_V:
            self.low_cell = False
        if lo < PREALARM_V:
            self.prealarm = True
        elif lo >= PREALARM_CLEAR_V:
            self.prealarm = False
        if hi > HIGH_CELL_V:
            self.high_cell = True
        elif hi < HIGH_CELL_CLEAR_V:
            self.high_cell = False
        t = self.temp_c
        if t < LOW_TEMP_C:
            self.low_temp = True
        elif t >= LOW_TEMP_C + TEMP_HYST_C:
            self.low_temp = False
        if t > HIGH_TEMP_C:
            self.high_temp = True
        elif t <= HIGH_TEMP_C - TEMP_HYST_C:
            self.high_temp = False

    def conditions(self):
        """Every BTV condition this battery signals now (a list of CONDITIONS names)."""
        if self.override is not None:
            return [self.override]
        out = []
        for name in ("low_cell", "high_cell", "low_temp", "high_temp", "prealarm"):
            if getattr(self, name):
                out.append(name)
        return out or ["ok"]

    @property
    def volts(self):
        return sum(c.v for c in self.cells)


class Loop:
    """What the BTV loop tells the BMS: intact, discharge allowed, charge allowed, pre-alarm."""

    __slots__ = (
        "condition",
        "intact",
        "discharge_ok",
        "charge_ok",
        "prealarm",
        "low_temp",
        "high_temp",
        "high_cell",
    )

    def __init__(self):
        self.set_from(["ok"])

    def set_from(self, conditions):
        c = set(conditions)
        self.intact = "open" not in c
        self.discharge_ok = self.intact and "low_cell" not in c
        self.charge_ok = self.intact and not ({"high_cell", "low_temp", "high_temp"} & c)
        # Low cell is below the pre-alarm threshold: a model battery in low cell also pre-alarms.
        # A forced "low_cell" (an older battery that cannot signal pre-alarm) does not.
        self.prealarm = self.intact and "prealarm" in c
        self.low_temp = "low_temp" in c
        self.high_temp = "high_temp" in c
        self.high_cell = "high_cell" in c
        self.condition = next(n for n in CONDITIONS if n in c)


class Bank:
    """`batteries` units, `series` per string, strings in parallel sharing the current equally."""

    def __init__(self, batteries=1, series=1, soc=0.8):
        self.series = series
        self.strings = batteries // series
        self.batteries = [Battery(soc, i) for i in range(batteries)]
        self.override = None  # whole-loop override (scenario "btv" without "battery")
        self.loop = Loop()
        self.update_loop()

    def step(self, dt, amps):
        """Advance `dt` seconds with `amps` into the bank (> 0 charges, < 0 discharges)."""
        per_string = amps / self.strings
        for b in self.batteries:
            b.step(dt, per_string)
        self.update_loop()

    def update_loop(self):
        if self.override is not None:
            self.loop.set_from([self.override])
            return
        conds = []
        for b in self.batteries:
            conds.extend(b.conditions())
        self.loop.set_from(conds)

    def set_temp(self, temp_c, index=None):
        for i, b in enumerate(self.batteries):
            if index is None or i == index:
                b.temp_c = temp_c
                b.evaluate()
        self.update_loop()

    def set_cell_v(self, volts, index=None):
        for i, b in enumerate(self.batteries):
            if index is None or i == index:
                for c in b.cells:
                    c.set_voltage(volts)
                b.evaluate()
        self.update_loop()

    def set_btv(self, value, index=None):
        """Scenario "btv": a condition name overrides; "model" hands back to the cells."""
        forced = None if value == "model" else value
        if index is None:
            self.override = forced
        else:
            self.batteries[index].override = forced
        self.update_loop()

    @property
    def volts(self):
        """Bank voltage: the mean string voltage."""
        s = self.series
        n = len(self.batteries)
        return sum(self.batteries[i].volts for i in range(n)) / (n // s)

    @property
    def nominal_v(self):
        return 12.8 * self.series

    def cell_min(self):
        return min(c.v for b in self.batteries for c in b.cells)

    def cell_max(self):
        return max(c.v for b in self.batteries for c in b.cells)

    def temp_c(self):
        return max(self.batteries, key=lambda b: abs(b.temp_c - 25.0)).temp_c

    def soc(self):
        cells = [c.soc for b in self.batteries for c in b.cells]
        return min(1.0, sum(cells) / len(cells))
